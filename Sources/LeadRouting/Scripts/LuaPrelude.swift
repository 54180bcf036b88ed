/// Lua shared by every leadrouter script: key names, Redis time, events, manager eligibility and
/// the assignment commit. Each script is this prelude plus its own body, so the rules for "who may
/// take a lead" and "what an assignment writes" exist once.
///
/// Conventions every script follows:
/// - ARGV[1] is the pool's key prefix `lr:{P}:`; KEYS[1] is a key of the pool, so Redis Cluster
///   routes the call to the pool's slot. Scripts build other key names from the prefix; all of
///   them carry the same `{P}` hash tag and therefore live in the same slot.
/// - Lead fields are data only: they are written as values, never used to build a key name or
///   script text. Key names come from the prefix, manager ids and group names, which the CLI and
///   the config validator restrict to `A-Z a-z 0-9 _ . -` and printable ASCII.
/// - Time comes from the Redis `TIME` command, never from a worker's clock.
/// - A script validates everything before its first write, because Redis does not roll back the
///   writes of a script that fails half-way.
enum LuaPrelude {
    static let source = #"""
        #!lua
        local P = ARGV[1]

        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end

        local function int(x)
          return string.format('%d', x)
        end

        -- Formats a share or threshold without float noise: 0.3 stays "0.3".
        local function num(x)
          local s = string.format('%.4f', x)
          s = string.gsub(s, '0+$', '')
          s = string.gsub(s, '%.$', '')
          return s
        end

        -- UTC calendar date of epoch milliseconds (days-from-civil inverted), for daily counters.
        local function utc_date(ms)
          local z = math.floor(ms / 86400000) + 719468
          local era = math.floor(z / 146097)
          local doe = z - era * 146097
          local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
          local y = yoe + era * 400
          local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
          local mp = math.floor((5 * doy + 2) / 153)
          local d = doy - math.floor((153 * mp + 2) / 5) + 1
          local m = mp < 10 and mp + 3 or mp - 9
          if m <= 2 then y = y + 1 end
          return string.format('%04d-%02d-%02d', y, m, d)
        end

        local EVENTS_MAXLEN = '100000'

        -- Appends one entry to the events stream, capped approximately (MAXLEN ~) so trimming
        -- stays cheap.
        local function event(kind, fields)
          redis.call('XADD', P .. 'events', 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'type', kind, unpack(fields))
        end

        -- Manager hash fields every eligibility check reads, in this order.
        local MANAGER_FIELDS = { 'active', 'open', 'max_open', 'empty_fields' }

        -- Decides from a manager's fields (HMGET of MANAGER_FIELDS) whether a group may give the
        -- manager a lead. Returns the open count when eligible, or nil and the reason to skip.
        local function eligibility(f, cfg)
          if not f[1] then
            return nil, 'removed'
          end
          if f[1] ~= '1' then
            return nil, 'off'
          end
          local open = tonumber(f[2]) or 0
          local cap = tonumber(f[3]) or cfg.max_open
          if cap and open >= cap then
            return nil, 'at cap ' .. int(open) .. '/' .. int(cap)
          end
          local gate = cfg.max_empty_fields
          local empty = tonumber(f[4])
          if gate and empty and empty > gate then
            return nil, 'empty fields ' .. num(empty) .. ' > ' .. num(gate)
          end
          return open, nil
        end

        local function manager_fields(id, extra)
          local fields = MANAGER_FIELDS
          if extra then
            fields = {}
            for i = 1, #MANAGER_FIELDS do fields[#fields + 1] = MANAGER_FIELDS[i] end
            for i = 1, #extra do fields[#fields + 1] = extra[i] end
          end
          return redis.call('HMGET', P .. 'manager:' .. id, unpack(fields))
        end

        -- Records that manager `m` got lead `id`: counters, daily count, the lead record and the
        -- event. `kind` is the event type (assigned, claimed); `extra` is a flat list of more
        -- lead fields to write. Returns the speed-to-lead in ms.
        local function commit_assignment(id, m, group, method, now, kind, extra)
          local lead = P .. 'lead:' .. id
          local mkey = P .. 'manager:' .. m
          redis.call('HINCRBY', mkey, 'open', 1)
          redis.call('HINCRBY', mkey, 'assigned_total', 1)
          local daily = P .. 'daily:' .. utc_date(now)
          if redis.call('HINCRBY', daily, m, 1) == 1 then
            redis.call('EXPIRE', daily, 3 * 86400)
          end

          local origin = redis.call('HMGET', lead, 'created_at', 'received_at')
          local start = tonumber(origin[1]) or tonumber(origin[2]) or now
          local speed = now - start
          if speed < 0 then speed = 0 end
          redis.call('HSET', lead, 'status', 'assigned', 'manager', m, 'group', group, 'method', method,
            'assigned_at', int(now), 'speed_ms', int(speed))
          if extra and #extra > 0 then
            redis.call('HSET', lead, unpack(extra))
          end
          event(kind, { 'lead', id, 'manager', m, 'group', group, 'method', method, 'speed_ms', int(speed) })
          return speed
        end

        -- Takes a lead out of the waiting set and lowers the count of waiting leads of the group
        -- it waited for (`waiting_groups`), which new leads check so they do not overtake it.
        local function leave_waiting(id)
          if redis.call('ZREM', P .. 'waiting', id) == 1 then
            local key = redis.call('HGET', P .. 'lead:' .. id, 'waiting_key')
            if key and redis.call('HINCRBY', P .. 'waiting_groups', key, -1) <= 0 then
              redis.call('HDEL', P .. 'waiting_groups', key)
            end
          end
        end

        -- Puts a lead in the waiting set (oldest first by `received`) counted under `key`: the
        -- group it waits for, or group:method for a lead that fell through to `then`.
        local function enter_waiting(id, received, key)
          local lead = P .. 'lead:' .. id
          if redis.call('ZSCORE', P .. 'waiting', id) then
            local previous = redis.call('HGET', lead, 'waiting_key')
            if previous == key then
              return false
            end
            leave_waiting(id)
          end
          redis.call('ZADD', P .. 'waiting', received, id)
          redis.call('HINCRBY', P .. 'waiting_groups', key, 1)
          redis.call('HSET', lead, 'waiting_key', key)
          return true
        end

        -- Removes a lead from every pending structure (waiting, manual, open, timers).
        local function unqueue(id)
          leave_waiting(id)
          redis.call('ZREM', P .. 'manual', id)
          redis.call('ZREM', P .. 'open', id)
          redis.call('ZREM', P .. 'timers', id)
        end

        -- Signals the workers that capacity may have appeared, so waiting leads are routed again.
        local function wake()
          redis.call('INCR', P .. 'wake')
        end

        """#
}
