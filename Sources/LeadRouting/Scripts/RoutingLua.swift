/// Lua that picks a manager inside a group and follows fallback chains: the selectors
/// (`round_robin`, `least_loaded`, `weighted`), the filters (load cap, quality gate, via
/// `eligibility` in the prelude) and the queue methods (`manual`, `claim`).
///
/// It expects these globals from the script that includes it: `GROUPS` (the compiled group table,
/// decoded from JSON), `NO_CONFIG` (true when the pool has no config: one group `default`
/// holding every manager) and `NOW` (Redis time in ms).
enum RoutingLua {
    static let source = #"""
        local function members_key(g)
          if NO_CONFIG then
            return P .. 'managers'
          end
          return P .. 'group:' .. g
        end

        -- Per-call caches. A script runs alone, so within one call nothing but this script
        -- changes the group members, manager fields and weights it reads; a batch of leads then
        -- reads each of them once. Counters this script changes are updated in the cache too
        -- (`note_assigned`), and weights are written back by `flush_weights` before it returns.
        local MEMBERS = {}
        local ROWS = {}
        local WEIGHTS = {}
        local RATINGS = {}
        local SHARES = {}

        local function cached_fields(id, extra)
          local variant = extra and table.concat(extra, ',') or ''
          local rows = ROWS[id]
          if not rows then
            rows = {}
            ROWS[id] = rows
          end
          local row = rows[variant]
          if not row then
            row = manager_fields(id, extra)
            rows[variant] = row
          end
          return row
        end

        -- Keeps cached open counts true after manager `m` got a lead.
        local function note_assigned(m)
          for _, row in pairs(ROWS[m] or {}) do
            if row[1] then
              row[2] = tostring((tonumber(row[2]) or 0) + 1)
            end
          end
        end

        local function flush_weights()
          for g, weights in pairs(WEIGHTS) do
            local flat = {}
            for id, w in pairs(weights) do
              flat[#flat + 1] = id
              flat[#flat + 1] = string.format('%.17g', w)
            end
            if #flat > 0 then
              redis.call('HSET', P .. 'swrr:' .. g, unpack(flat))
            end
          end
        end

        -- The group's managers in turn order, starting after the one who got the last lead.
        -- Turn positions are the managers' join numbers, so adding or removing a manager never
        -- shifts anyone else's place in the order.
        local function in_turn_order(g)
          local flat = MEMBERS[g]
          if not flat then
            flat = redis.call('ZRANGE', members_key(g), 0, -1, 'WITHSCORES')
            MEMBERS[g] = flat
          end
          local n = #flat / 2
          local last = tonumber(redis.call('HGET', P .. 'turn', g)) or 0
          local start = 1
          for i = 1, n do
            if tonumber(flat[2 * i]) > last then
              start = i
              break
            end
          end
          local ids, turns = {}, {}
          for k = 0, n - 1 do
            local i = ((start - 1 + k) % n) + 1
            ids[#ids + 1] = flat[2 * i - 1]
            turns[#turns + 1] = flat[2 * i]
          end
          return ids, turns
        end

        local function pick_round_robin(g, cfg, seen)
          local ids, turns = in_turn_order(g)
          for i = 1, #ids do
            local open, why = eligibility(cached_fields(ids[i]), cfg)
            if open then
              seen[#seen + 1] = { ids[i], 'chosen: next in turn' }
              if i < #ids then
                seen[#seen + 1] = { int(#ids - i) .. ' more', 'not their turn' }
              end
              redis.call('HSET', P .. 'turn', g, turns[i])
              return ids[i]
            end
            seen[#seen + 1] = { ids[i], why }
          end
          return nil
        end

        -- Fewest open leads wins; ties go to the first in turn order, and the turn moves to the
        -- winner so that ties rotate.
        local function pick_least_loaded(g, cfg, seen)
          local ids, turns = in_turn_order(g)
          local best, best_open = nil, nil
          local eligible = 0
          for i = 1, #ids do
            local open, why = eligibility(cached_fields(ids[i]), cfg)
            if open then
              eligible = eligible + 1
              if not best or open < best_open then
                best, best_open = i, open
              end
            else
              seen[#seen + 1] = { ids[i], why }
            end
          end
          if not best then
            return nil
          end
          seen[#seen + 1] = { ids[best], 'chosen: fewest open leads (' .. int(best_open) .. ')' }
          if eligible > 1 then
            seen[#seen + 1] = { int(eligible - 1) .. ' more', 'more open leads, or later in turn order' }
          end
          redis.call('HSET', P .. 'turn', g, turns[best])
          return ids[best]
        end

        -- Shares from ratings: each metric is scaled by the group's maximum of that metric, the
        -- weighted sum is the rating, and shares are ratings over the eligible managers' total.
        -- Managers below min_share are raised to it and the rest scaled down to make room.
        local function weighted_shares(ratings, min_share)
          local n = #ratings
          local total = 0
          for i = 1, n do total = total + ratings[i] end
          local shares = {}
          for i = 1, n do
            if total > 0 then shares[i] = ratings[i] / total else shares[i] = 1 / n end
          end
          if not min_share or min_share <= 0 or n == 0 then
            return shares
          end
          if min_share * n >= 1 then
            for i = 1, n do shares[i] = 1 / n end
            return shares
          end
          local floored = {}
          for _ = 1, n do
            local count, rest = 0, 0
            for i = 1, n do
              if floored[i] or shares[i] < min_share then
                floored[i] = true
                count = count + 1
              else
                rest = rest + shares[i]
              end
            end
            local room = 1 - count * min_share
            local changed = false
            for i = 1, n do
              if floored[i] then
                shares[i] = min_share
              else
                local scaled = rest > 0 and shares[i] / rest * room or room / (n - count)
                if scaled < min_share then changed = true end
                shares[i] = scaled
              end
            end
            if not changed then break end
          end
          return shares
        end

        -- Smooth weighted round robin: every eligible manager's current weight grows by its
        -- share, the highest current weight wins and gives back 1 (the sum of the shares). Over
        -- N leads each count stays within about one lead of share x N.
        local function pick_weighted(g, cfg, seen)
          local metrics = cfg.rating_metrics or {}
          local extra = {}
          for j = 1, #metrics do extra[j] = 'm:' .. metrics[j] end
          local ids = in_turn_order(g)
          local rows, maxima = {}, {}
          for i = 1, #ids do
            rows[i] = cached_fields(ids[i], extra)
          end

          -- Metrics do not change within a call, so ratings are computed once per group.
          local rated = RATINGS[g]
          if not rated then
            rated = {}
            for i = 1, #ids do
              for j = 1, #metrics do
                local v = tonumber(rows[i][4 + j])
                if v and v > (maxima[j] or 0) then maxima[j] = v end
              end
            end
            for i = 1, #ids do
              local rating = 0
              for j = 1, #metrics do
                local v = tonumber(rows[i][4 + j])
                if v and maxima[j] and maxima[j] > 0 then
                  rating = rating + (cfg.rating[metrics[j]] or 0) * v / maxima[j]
                end
              end
              rated[ids[i]] = rating
            end
            RATINGS[g] = rated
          end

          local eligible, ratings = {}, {}
          for i = 1, #ids do
            local open, why = eligibility(rows[i], cfg)
            if open then
              eligible[#eligible + 1] = ids[i]
              ratings[#ratings + 1] = rated[ids[i]] or 0
            else
              seen[#seen + 1] = { ids[i], why }
            end
          end
          if #eligible == 0 then
            return nil
          end

          -- Shares depend only on who is eligible; most leads of a batch see the same set.
          local signature = table.concat(eligible, ',')
          SHARES[g] = SHARES[g] or {}
          local shares = SHARES[g][signature]
          if not shares then
            shares = weighted_shares(ratings, cfg.min_share)
            SHARES[g][signature] = shares
          end
          local weights = WEIGHTS[g]
          if not weights then
            weights = {}
            local stored = redis.call('HGETALL', P .. 'swrr:' .. g)
            for i = 1, #stored, 2 do
              weights[stored[i]] = tonumber(stored[i + 1]) or 0
            end
            WEIGHTS[g] = weights
          end
          local best, best_weight = nil, nil
          for i = 1, #eligible do
            local w = (weights[eligible[i]] or 0) + shares[i]
            weights[eligible[i]] = w
            if not best or w > best_weight then
              best, best_weight = i, w
            end
          end
          weights[eligible[best]] = weights[eligible[best]] - 1
          seen[#seen + 1] = { eligible[best], 'chosen: share ' .. num(shares[best]) .. ', highest current weight' }
          if #eligible > 1 then
            seen[#seen + 1] = { int(#eligible - 1) .. ' more', 'lower current weight' }
          end
          return eligible[best]
        end

        -- The `waiting_groups` field a waiting lead is counted under.
        local function waiting_key(group, override)
          if override then
            return group .. ':' .. override
          end
          return group
        end

        local SELECTORS = {
          round_robin = pick_round_robin,
          least_loaded = pick_least_loaded,
          weighted = pick_weighted,
        }

        -- Routes lead `id` starting at group `start`, following fallbacks. `override` replaces
        -- the start group's method (a manual or claim group's `then` after its timeout). Returns
        -- the outcome (assigned, manual, open, waiting), the manager or group, the group that
        -- decided, the method and the speed-to-lead in ms, and stores the trace in the lead record.
        local function route(id, start, override, trace)
          local lead = P .. 'lead:' .. id
          local g = start
          local visited = {}
          local steps = {}
          trace.steps = steps
          while g and not visited[g] do
            visited[g] = true
            local cfg = GROUPS[g]
            if not cfg then
              steps[#steps + 1] = { group = g, method = 'none', outcome = 'group is not in the config' }
              break
            end
            local method = cfg.method
            if g == start and override then
              method = override
            end

            if method == 'manual' or method == 'claim' then
              local status = method == 'manual' and 'manual' or 'open'
              local timeout = method == 'manual' and cfg.manual_timeout_s or cfg.claim_timeout_s
              leave_waiting(id)
              redis.call('ZADD', P .. status, NOW, id)
              if timeout then
                redis.call('ZADD', P .. 'timers', NOW + timeout * 1000, id)
              end
              steps[#steps + 1] = { group = g, method = method, outcome = status == 'manual' and 'waiting for a supervisor' or 'open to claim' }
              redis.call('HSET', lead, 'status', status, 'group', g, 'method', method, 'manager', '',
                'trace', cjson.encode(trace))
              event(status, { 'lead', id, 'group', g, 'method', method })
              return status, g, g, method, 0
            end

            local select = SELECTORS[method]
            local seen = {}
            local m = select(g, cfg, seen)
            if m then
              steps[#steps + 1] = { group = g, method = method, candidates = seen, outcome = 'assigned to ' .. m }
              leave_waiting(id)
              redis.call('HSET', lead, 'trace', cjson.encode(trace))
              local speed = commit_assignment(id, m, g, method, NOW, 'assigned', nil)
              note_assigned(m)
              return 'assigned', m, g, method, speed
            end
            steps[#steps + 1] = { group = g, method = method, candidates = seen, outcome = 'no eligible manager' }
            g = cfg.fallback
          end

          -- Nobody can take it: it waits, oldest first by when it was received.
          local previous = redis.call('HGET', lead, 'status')
          local received = tonumber(redis.call('HGET', lead, 'received_at')) or NOW
          enter_waiting(id, received, waiting_key(start, override))
          redis.call('HSET', lead, 'status', 'waiting', 'group', start, 'manager', '', 'trace', cjson.encode(trace))
          if previous ~= 'waiting' then
            event('waiting', { 'lead', id, 'group', start })
          end
          return 'waiting', start, start, '', 0
        end

        """#
}
