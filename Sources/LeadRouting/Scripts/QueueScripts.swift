import RedisClient

/// Scripts that move raw leads between the incoming list, in-flight lists and the dead-letter list.
enum QueueScripts {
    /// Takes up to ARGV[2] leads from the incoming list into the worker's in-flight list; or, when
    /// leads recovered from a dead worker wait in `redelivered`, exactly one of those, alone, so
    /// that a lead that kills its worker takes no neighbours down with it again.
    ///
    /// KEYS[1] = lr:{P}:incoming, KEYS[2] = the worker's in-flight list, KEYS[3] = lr:{P}:workers,
    /// KEYS[4] = lr:{P}:redelivered; ARGV[3] = worker id, ARGV[4] = its description.
    /// Atomic so that a lead is always in exactly one of the two lists. Producers LPUSH, so RPOP
    /// takes the oldest first. The worker is registered in the same step, so recovery can always
    /// find the in-flight list, even right after a pause in which recovery dropped the worker.
    /// Returns Redis time in ms followed by the leads.
    static let take = RedisScript(
        name: "take",
        source: #"""
            #!lua
            redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local suspect = redis.call('RPOP', KEYS[4])
            if suspect then
              redis.call('LPUSH', KEYS[2], suspect)
              return { now, suspect }
            end
            local leads = redis.call('RPOP', KEYS[1], tonumber(ARGV[2]))
            if not leads then
              return { now }
            end
            for i = 1, #leads do
              redis.call('LPUSH', KEYS[2], leads[i])
            end
            local reply = { now }
            for i = 1, #leads do reply[#reply + 1] = leads[i] end
            return reply
            """#
    )

    /// Moves an invalid lead from the worker's in-flight list to the dead-letter list.
    ///
    /// KEYS[1] = lr:{P}:incoming; ARGV[1] = prefix, ARGV[2] = in-flight list, ARGV[3] = raw lead,
    /// ARGV[4] = dead-letter entry (JSON), ARGV[5] = lead id or "", ARGV[6] = reason, ARGV[7] = events cap.
    /// Atomic so that the lead is never in both lists or in neither. Returns 0 when the lead was no
    /// longer in flight (another worker recovered it), and changes nothing then.
    static let deadLetter = RedisScript(
        name: "dead_letter",
        source: LuaPrelude.source + #"""
            EVENTS_MAXLEN = ARGV[7]
            if redis.call('LREM', ARGV[2], 1, ARGV[3]) == 0 then
              return 0
            end
            redis.call('LPUSH', P .. 'dead', ARGV[4])
            redis.call('HINCRBY', P .. 'stats', 'dead', 1)
            event('dead', { 'lead', ARGV[5], 'reason', ARGV[6] })
            return 1
            """#
    )

    /// Registers a worker and refreshes its heartbeat.
    ///
    /// KEYS[1] = lr:{P}:workers, KEYS[2] = lr:{P}:worker:ID; ARGV[1] = worker id,
    /// ARGV[2] = description (JSON), ARGV[3] = heartbeat lifetime in ms.
    /// Liveness is the heartbeat key's Redis-side expiry, so no worker ever compares clocks.
    static let heartbeat = RedisScript(
        name: "heartbeat",
        source: #"""
            #!lua
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
            redis.call('SET', KEYS[2], ARGV[2], 'PX', tonumber(ARGV[3]))
            return 1
            """#
    )

    /// Gives the in-flight leads of dead workers back to the incoming list.
    ///
    /// KEYS[1] = lr:{P}:incoming; ARGV[1] = prefix, ARGV[2] = max deliveries, ARGV[3] = events
    /// cap, ARGV[4] = a worker id to release now even if its heartbeat lives (a worker stopping
    /// cleanly), or "".
    /// A worker is dead when its heartbeat key has expired. Its leads go to `redelivered` in their
    /// original order; workers take those first, one at a time. Each redelivery is counted per
    /// lead content; a lead delivered ARGV[2] times without being finished (it kills every worker
    /// that takes it) goes to the dead-letter list instead. A cleanly stopping worker's leads go
    /// straight back to the consuming end of `incoming`, uncounted.
    /// Atomic so that a lead is moved once, even when every worker runs recovery at once.
    /// Returns the number of leads requeued and the number dead-lettered.
    static let recover = RedisScript(
        name: "recover",
        source: LuaPrelude.source + #"""
            EVENTS_MAXLEN = ARGV[3]
            local max_deliveries = tonumber(ARGV[2])
            local requeued, dead = 0, 0
            -- Identical copies (a producer's retried push) count as one delivery per pass.
            local counted = {}
            local workers = redis.call('HKEYS', P .. 'workers')
            for _, w in ipairs(workers) do
              local release = w == ARGV[4]
              if release or redis.call('EXISTS', P .. 'worker:' .. w) == 0 then
                local inflight = P .. 'processing:' .. w
                while true do
                  local raw = redis.call('LPOP', inflight)
                  if not raw then break end
                  -- Only a dead worker's leads count as a failed delivery: a clean stop hands
                  -- its leads back without blaming them.
                  local count = 0
                  if not release then
                    local digest = redis.sha1hex(raw)
                    local counter = P .. 'deliveries:' .. digest
                    if counted[digest] then
                      count = counted[digest]
                    else
                      count = redis.call('INCR', counter)
                      redis.call('EXPIRE', counter, 86400)
                      counted[digest] = count
                    end
                  end
                  if not release and count >= max_deliveries then
                    local parsed, lead = pcall(cjson.decode, raw)
                    local lead_id = parsed and type(lead) == 'table' and type(lead.id) == 'string' and lead.id or nil
                    local entry = { id = 'dl-' .. string.sub(redis.sha1hex(raw .. now_ms()), 1, 13), reason = 'poison lead: its worker stopped without finishing it ' .. int(count) .. ' times; check the worker logs for a crash while handling it', at = now_ms(), worker = w, raw = raw, lead_id = lead_id }
                    redis.call('LPUSH', P .. 'dead', cjson.encode(entry))
                    redis.call('HINCRBY', P .. 'stats', 'dead', 1)
                    event('dead', { 'lead', lead_id or '', 'reason', 'poison lead' })
                    dead = dead + 1
                  elseif release then
                    redis.call('RPUSH', P .. 'incoming', raw)
                    requeued = requeued + 1
                  else
                    redis.call('LPUSH', P .. 'redelivered', raw)
                    requeued = requeued + 1
                  end
                end
                redis.call('HDEL', P .. 'workers', w)
                if release then
                  redis.call('DEL', P .. 'worker:' .. w)
                end
              end
            end
            return { requeued, dead }
            """#
    )
}
