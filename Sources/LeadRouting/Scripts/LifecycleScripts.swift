import RedisClient

/// Scripts behind `leadrouter assign`, `claim` and `close`: a person acting on one lead.
///
/// Each returns `{ "ok", ... }` or `{ "error", message }`; errors are decided before any write.
/// ARGV[1] = prefix, ARGV[2] = compiled groups as JSON ("" = no config), ARGV[3] = events cap.
enum LifecycleScripts {
    private static let globals = #"""
        local NO_CONFIG = ARGV[2] == ''
        local GROUPS
        if NO_CONFIG then
          GROUPS = { default = { method = 'round_robin' } }
        else
          GROUPS = cjson.decode(ARGV[2])
        end
        EVENTS_MAXLEN = ARGV[3]
        local NOW = now_ms()

        """#

    /// `assign ID MANAGER` (ARGV[4], ARGV[5]): gives a manual, waiting or open lead to a manager,
    /// or moves an assigned lead to another one, moving one open lead between their counts.
    /// The manager must be on and under the load cap of the lead's group, so a supervisor cannot
    /// break the cap guarantee by hand.
    static let assign = RedisScript(
        name: "assign_by_hand",
        source: LuaPrelude.source + globals + #"""
            local id, m = ARGV[4], ARGV[5]
            local lead = P .. 'lead:' .. id
            local f = redis.call('HMGET', lead, 'status', 'manager', 'group', 'claimed')
            local status, previous, group = f[1], f[2], f[3]
            if not status then
              return { 'error', 'lead ' .. id .. ' not found; check the id with `leadrouter explain`' }
            end
            if status == 'closed' then
              return { 'error', 'lead ' .. id .. ' is closed; a closed lead cannot be assigned' }
            end
            if status == 'assigned' and previous == m then
              return { 'error', 'lead ' .. id .. ' is already assigned to ' .. m }
            end
            local cfg = GROUPS[group] or {}
            local open, why = eligibility(manager_fields(m), cfg)
            if why == 'removed' then
              return { 'error', 'manager ' .. m .. ' not found; list managers with `leadrouter manager list`' }
            end
            if not open then
              return { 'error', 'manager ' .. m .. ' cannot take lead ' .. id .. ': ' .. why }
            end

            if status == 'assigned' then
              local pkey = P .. 'manager:' .. previous
              if redis.call('EXISTS', pkey) == 1 and (tonumber(redis.call('HGET', pkey, 'open')) or 0) > 0 then
                redis.call('HINCRBY', pkey, 'open', -1)
              end
              if f[4] == '1' and redis.call('EXISTS', pkey) == 1 and (tonumber(redis.call('HGET', pkey, 'claimed')) or 0) > 0 then
                redis.call('HINCRBY', pkey, 'claimed', -1)
              end
              local mkey = P .. 'manager:' .. m
              redis.call('HINCRBY', mkey, 'open', 1)
              redis.call('HINCRBY', mkey, 'assigned_total', 1)
              local daily = P .. 'daily:' .. utc_date(NOW)
              if redis.call('HINCRBY', daily, m, 1) == 1 then
                redis.call('EXPIRE', daily, 3 * 86400)
              end
              -- The trace keeps how the lead was first routed and adds the reassignment.
              local ok, trace = pcall(cjson.decode, redis.call('HGET', lead, 'trace') or '')
              if not ok or type(trace) ~= 'table' then
                trace = { route = redis.call('HGET', lead, 'route') or '' }
              end
              if type(trace.steps) ~= 'table' then
                trace.steps = {}
              end
              trace.steps[#trace.steps + 1] = { group = group or '', method = 'manual', outcome = 'reassigned by hand from ' .. previous .. ' to ' .. m }
              redis.call('HSET', lead, 'manager', m, 'method', 'manual', 'assigned_at', int(NOW), 'claimed', '0',
                'previous_manager', previous, 'trace', cjson.encode(trace))
              event('reassigned', { 'lead', id, 'manager', m, 'from', previous, 'group', group or '', 'method', 'manual' })
              wake()
              return { 'ok', 'reassigned', previous }
            end

            unqueue(id)
            local trace = cjson.encode({ route = redis.call('HGET', lead, 'route') or '', steps = { { group = group or '', method = 'manual', outcome = 'assigned by hand to ' .. m } } })
            redis.call('HSET', lead, 'trace', trace)
            commit_assignment(id, m, group or '', 'manual', NOW, 'assigned', nil)
            return { 'ok', 'assigned', status }
            """#
    )

    /// `claim MANAGER [ID]` (ARGV[4], ARGV[5] or ""): the manager takes the named open lead, or
    /// the oldest open lead of a group they belong to. Two managers claiming one lead: the script
    /// runs one at a time, so the second finds it assigned and gets an error naming the winner.
    static let claim = RedisScript(
        name: "claim",
        source: LuaPrelude.source + globals + #"""
            local m, wanted = ARGV[4], ARGV[5]
            local mkey = P .. 'manager:' .. m
            local mf = redis.call('HMGET', mkey, 'active', 'open', 'max_open', 'empty_fields', 'claimed', 'groups')
            if not mf[1] then
              return { 'error', 'manager ' .. m .. ' not found; list managers with `leadrouter manager list`' }
            end

            local function in_group(group)
              if NO_CONFIG then return true end
              return redis.call('ZSCORE', P .. 'group:' .. group, m) ~= false
            end

            local id = nil
            if wanted ~= '' then
              local lf = redis.call('HMGET', P .. 'lead:' .. wanted, 'status', 'manager', 'group')
              if not lf[1] then
                return { 'error', 'lead ' .. wanted .. ' not found' }
              end
              if lf[1] == 'assigned' or lf[1] == 'closed' then
                if lf[2] and lf[2] ~= '' then
                  return { 'error', 'lead ' .. wanted .. ' was already taken by ' .. lf[2] }
                end
                return { 'error', 'lead ' .. wanted .. ' is ' .. lf[1] }
              end
              if lf[1] ~= 'open' then
                return { 'error', 'lead ' .. wanted .. ' is not open to claim (status ' .. lf[1] .. ')' }
              end
              if not in_group(lf[3]) then
                return { 'error', 'manager ' .. m .. ' is not in group ' .. lf[3] .. ' of lead ' .. wanted }
              end
              id = wanted
            else
              local candidates = redis.call('ZRANGE', P .. 'open', 0, 999)
              for _, candidate in ipairs(candidates) do
                local group = redis.call('HGET', P .. 'lead:' .. candidate, 'group')
                if group and in_group(group) then
                  id = candidate
                  break
                end
              end
              if not id then
                return { 'error', 'no open lead to claim for ' .. m }
              end
            end

            local group = redis.call('HGET', P .. 'lead:' .. id, 'group')
            local cfg = GROUPS[group] or {}
            local open, why = eligibility(mf, cfg)
            if not open then
              return { 'error', 'manager ' .. m .. ' cannot claim: ' .. why }
            end
            local claimed = tonumber(mf[5]) or 0
            if cfg.max_claimed and claimed >= cfg.max_claimed then
              return { 'error', 'manager ' .. m .. ' already holds ' .. int(claimed) .. ' claimed lead(s) (max_claimed ' .. int(cfg.max_claimed) .. '); close one first' }
            end

            unqueue(id)
            redis.call('HINCRBY', mkey, 'claimed', 1)
            local lead = P .. 'lead:' .. id
            local trace = cjson.encode({ route = redis.call('HGET', lead, 'route') or '', steps = { { group = group, method = 'claim', outcome = 'claimed by ' .. m } } })
            redis.call('HSET', lead, 'trace', trace)
            commit_assignment(id, m, group, 'claim', NOW, 'claimed', { 'claimed', '1' })
            return { 'ok', id }
            """#
    )

    /// `close ID` (ARGV[4]): the deal is finished. The manager's open count drops by one (and the
    /// claimed count, for a claimed lead). Closing a closed lead changes nothing. The record then
    /// expires after ARGV[5] seconds (0 keeps it).
    static let close = RedisScript(
        name: "close",
        source: LuaPrelude.source + globals + #"""
            local id = ARGV[4]
            local lead = P .. 'lead:' .. id
            local f = redis.call('HMGET', lead, 'status', 'manager', 'claimed', 'group')
            if not f[1] then
              return { 'error', 'lead ' .. id .. ' not found; check the id with `leadrouter explain`' }
            end
            if f[1] == 'closed' then
              return { 'ok', 'already closed' }
            end
            local m = f[2]
            if f[1] == 'assigned' and m and m ~= '' then
              local mkey = P .. 'manager:' .. m
              if redis.call('EXISTS', mkey) == 1 then
                if (tonumber(redis.call('HGET', mkey, 'open')) or 0) > 0 then
                  redis.call('HINCRBY', mkey, 'open', -1)
                end
                if f[3] == '1' and (tonumber(redis.call('HGET', mkey, 'claimed')) or 0) > 0 then
                  redis.call('HINCRBY', mkey, 'claimed', -1)
                end
              end
            end
            unqueue(id)
            redis.call('HSET', lead, 'status', 'closed', 'closed_at', int(NOW))
            local retention = tonumber(ARGV[5]) or 0
            if retention > 0 then
              redis.call('EXPIRE', lead, retention)
            end
            event('closed', { 'lead', id, 'manager', m or '', 'group', f[4] or '' })
            wake()
            return { 'ok', 'closed' }
            """#
    )
}
