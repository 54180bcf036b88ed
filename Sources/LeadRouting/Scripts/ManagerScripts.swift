import RedisClient

/// Scripts behind `leadrouter manager …`. ARGV[1] = prefix, ARGV[2] = manager id.
/// Each signals `wake` when capacity may have appeared, so waiting leads are routed again.
enum ManagerScripts {
    /// Adds a manager, or updates the groups and cap of an existing one (ARGV[3] = groups joined
    /// by ",", ARGV[4] = max_open or ""). A new manager gets the next join number, which is their
    /// place in every turn order; an existing one keeps theirs. Returns "added" or "updated".
    static let add = RedisScript(
        name: "manager_add",
        source: LuaPrelude.source + #"""
            local id = ARGV[2]
            local mkey = P .. 'manager:' .. id
            local groups = {}
            for g in string.gmatch(ARGV[3], '[^,]+') do groups[#groups + 1] = g end

            local outcome = 'updated'
            local seq = tonumber(redis.call('ZSCORE', P .. 'managers', id))
            if not seq then
              seq = redis.call('INCR', P .. 'manager_seq')
              redis.call('ZADD', P .. 'managers', seq, id)
              redis.call('HSET', mkey, 'active', '1', 'open', '0', 'assigned_total', '0', 'claimed', '0',
                'added_at', int(now_ms()))
              outcome = 'added'
            else
              local old = redis.call('HGET', mkey, 'groups') or ''
              for g in string.gmatch(old, '[^,]+') do
                redis.call('ZREM', P .. 'group:' .. g, id)
              end
            end
            for _, g in ipairs(groups) do
              redis.call('ZADD', P .. 'group:' .. g, seq, id)
            end
            redis.call('HSET', mkey, 'groups', ARGV[3])
            if ARGV[4] ~= '' then
              redis.call('HSET', mkey, 'max_open', ARGV[4])
            end
            wake()
            return outcome
            """#
    )

    /// Removes a manager from the pool and every group. Their assigned leads keep their records.
    static let remove = RedisScript(
        name: "manager_remove",
        source: LuaPrelude.source + #"""
            local id = ARGV[2]
            local mkey = P .. 'manager:' .. id
            if redis.call('EXISTS', mkey) == 0 then
              return 0
            end
            local groups = redis.call('HGET', mkey, 'groups') or ''
            for g in string.gmatch(groups, '[^,]+') do
              redis.call('ZREM', P .. 'group:' .. g, id)
              redis.call('HDEL', P .. 'swrr:' .. g, id)
            end
            redis.call('ZREM', P .. 'managers', id)
            redis.call('DEL', mkey)
            return 1
            """#
    )

    /// Sets fields of an existing manager (ARGV[3..] = field, value pairs; a value of "" deletes
    /// the field). Returns 0 when the manager does not exist.
    static let set = RedisScript(
        name: "manager_set",
        source: LuaPrelude.source + #"""
            local mkey = P .. 'manager:' .. ARGV[2]
            if redis.call('EXISTS', mkey) == 0 then
              return 0
            end
            for i = 3, #ARGV, 2 do
              if ARGV[i + 1] == '' then
                redis.call('HDEL', mkey, ARGV[i])
              else
                redis.call('HSET', mkey, ARGV[i], ARGV[i + 1])
              end
            end
            wake()
            return 1
            """#
    )
}
