import RedisClient

/// The assignment script: routes a batch of leads in one atomic call.
///
/// Reads: the manager hashes, group member sets, turn pointers, lead records.
/// Writes: lead records, manager counters, turn pointers, weighted-selection state, the waiting,
/// manual, open and timers sets, daily counters and the events stream; removes each new lead
/// from the worker's in-flight list.
/// Atomic because Redis runs a script alone: no other worker can pick, count or commit between
/// the check of a manager's cap and the increment of its open count, and a lead leaves the
/// in-flight list in the same step that records its assignment.
///
/// KEYS[1] = lr:{P}:incoming (routes the call to the pool's slot)
/// ARGV[1] = key prefix, ARGV[2] = operation, ARGV[3] = compiled groups as JSON ("" = no config),
/// ARGV[4] = events stream cap, ARGV[5] = the worker's in-flight list key (operation `new`).
///
/// Operations:
/// - `new`, ARGV[6] = n, then per lead: id ("" = generate), raw, created_ms, taken_ms, route, group.
///   A lead no longer in the in-flight list (recovered and handed to another worker while this
///   one was paused) is `stale` and changes nothing; a lead id seen before is `duplicate`.
/// - `waiting`, ARGV[6] = n, then per lead: id, route, group. Leads no longer waiting are skipped.
/// - `timeouts`, ARGV[6] = max leads: manual and open leads whose timer is due are routed by
///   their group's `then` method.
///
/// Returns a flat array, six items per lead handled: id, outcome, manager-or-group, group,
/// method, speed-to-lead in ms.
enum AssignScript {
    static let script = RedisScript(name: "assign", source: LuaPrelude.source + globals + RoutingLua.source + body)

    private static let globals = #"""
        local OP = ARGV[2]
        local NO_CONFIG = ARGV[3] == ''
        local GROUPS
        if NO_CONFIG then
          GROUPS = { default = { method = 'round_robin' } }
        else
          GROUPS = cjson.decode(ARGV[3])
        end
        EVENTS_MAXLEN = ARGV[4]
        local NOW = now_ms()

        """#

    private static let body = #"""
        local results = {}
        local function result(id, outcome, who, group, method, speed)
          results[#results + 1] = id
          results[#results + 1] = outcome
          results[#results + 1] = who or ''
          results[#results + 1] = group or ''
          results[#results + 1] = method or ''
          results[#results + 1] = int(speed or 0)
        end

        if OP == 'new' then
          local inflight = ARGV[5]
          local n = tonumber(ARGV[6])
          for i = 0, n - 1 do
            local base = 7 + i * 6
            local id, raw, created, taken, why, group = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4], ARGV[base + 5]
            if id == '' then
              -- No id from the producer: derive one from the bytes, so a redelivered or re-pushed
              -- copy of the same lead maps to the same id and is not assigned twice.
              id = 'gen-' .. string.sub(redis.sha1hex(raw), 1, 24)
            end
            if redis.call('LREM', inflight, 1, raw) == 0 then
              result(id, 'stale', '')
            elseif redis.call('EXISTS', P .. 'lead:' .. id) == 1 then
              redis.call('HINCRBY', P .. 'stats', 'duplicates', 1)
              result(id, 'duplicate', redis.call('HGET', P .. 'lead:' .. id, 'manager') or '')
            else
              local received = tonumber(taken) or NOW
              local fields = { 'status', 'routing', 'received_at', int(received), 'payload', raw, 'route', why }
              if created ~= '' then
                fields[#fields + 1] = 'created_at'
                fields[#fields + 1] = created
              end
              redis.call('HSET', P .. 'lead:' .. id, unpack(fields))
              local cfg = GROUPS[group]
              if cfg and cfg.method ~= 'manual' and cfg.method ~= 'claim'
                  and (tonumber(redis.call('HGET', P .. 'waiting_groups', group)) or 0) > 0 then
                -- Older leads of this group are waiting: this one queues behind them instead of
                -- taking capacity that appeared a moment ago. The waiting pass routes them
                -- oldest first.
                local trace = { route = why, steps = { { group = group, method = cfg.method, outcome = 'queued behind older waiting leads of this group' } } }
                enter_waiting(id, received, group)
                redis.call('HSET', P .. 'lead:' .. id, 'status', 'waiting', 'group', group, 'manager', '', 'trace', cjson.encode(trace))
                event('waiting', { 'lead', id, 'group', group })
                result(id, 'waiting', group, group, '', 0)
              else
                result(id, route(id, group, nil, { route = why }))
              end
            end
          end

        elseif OP == 'waiting' then
          local n = tonumber(ARGV[6])
          -- Groups (with their `then` override) found full in this call: later leads of the same
          -- group would find them full too, so they are not tried again until the next pass.
          local full = {}
          for i = 0, n - 1 do
            local base = 7 + i * 3
            local id, why, group = ARGV[base], ARGV[base + 1], ARGV[base + 2]
            local fell = redis.call('HGET', P .. 'lead:' .. id, 'fell_through')
            local skip_key = group .. ':' .. tostring(fell == group)
            if not full[skip_key] and redis.call('ZSCORE', P .. 'waiting', id) then
              local lead = P .. 'lead:' .. id
              -- A lead that fell through a manual or claim group keeps that group's `then`.
              local override = nil
              if fell and fell == group and GROUPS[group] and GROUPS[group]['then'] then
                override = GROUPS[group]['then']
              end
              redis.call('HSET', lead, 'route', why)
              local outcome, who, decided, method, speed = route(id, group, override, { route = why, retry = 'routed again from waiting' })
              if outcome == 'waiting' then
                full[skip_key] = true
              end
              result(id, outcome, who, decided, method, speed)
            end
          end

        elseif OP == 'timeouts' then
          local due = redis.call('ZRANGEBYSCORE', P .. 'timers', '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[6]))
          for _, id in ipairs(due) do
            local lead = P .. 'lead:' .. id
            local f = redis.call('HMGET', lead, 'status', 'group', 'route', 'method')
            redis.call('ZREM', P .. 'timers', id)
            if f[1] == 'manual' or f[1] == 'open' then
              redis.call('ZREM', P .. 'manual', id)
              redis.call('ZREM', P .. 'open', id)
              local group = f[2]
              local cfg = GROUPS[group]
              local override = (cfg and cfg['then']) or 'round_robin'
              redis.call('HSET', lead, 'fell_through', group)
              local note = 'not taken in time by ' .. (f[4] or 'hand') .. '; routed by ' .. override
              result(id, route(id, group, override, { route = f[3] or '', timeout = note }))
            end
          end
        end

        flush_weights()
        return results
        """#
}
