/** The Lua scripts of the Redis stores: each runs as one atomic step on the server. */

/** Compare-and-delete: a lock released only by its owner. */
export const DEL_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
/** Compare-and-renew: a lock's lease extended only by its owner. */
export const PEXPIRE_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/** token record is JSON; delete only if its token is still ARGV[1] */
export const DEL_TOKEN_IF = "local v = redis.call('GET', KEYS[1]) if not v then return 0 end local ok, r = pcall(cjson.decode, v) if ok and r.token == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/**
 * Claim a retry key: SET NX PX with this instance's id as the value. Taken already: the reply if
 * there is one; else, when the holder instance's heartbeat key is gone (the instance died with the
 * delivery in its flow), take the claim over so the follower is not lost. {1} first, {2} taken
 * over, {0, reply?} a retry.
 */
export const CLAIM = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end local r = redis.call('GET', KEYS[2]) if r then return {0, r} end local h = redis.call('GET', KEYS[1]) if h and h ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. h) == 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {2} end return {0}";
/**
 * XACK + XDEL, a done mark for the id (kept ARGV[3] ms: an instance that missed the PUBLISH — its
 * subscription was reconnecting — still finds it), the id out of its order list (KEYS[4], when the
 * item has an order key) + PUBLISH the id on the done channel; one round trip.
 */
export const ACK = "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) redis.call('XDEL', KEYS[1], ARGV[2]) redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]) if KEYS[4] then redis.call('LREM', KEYS[4], 1, ARGV[2]) end redis.call('PUBLISH', KEYS[2], ARGV[2]) return 1";
/**
 * XADD an item with an order key and append its id to the key's order list (KEYS[2], kept ARGV[3]
 * ms after the last add) in one step: the list holds the key's items in the order they were added.
 * ARGV[1] the data, ARGV[2] the order key, ARGV[4] '1' for work added again. Returns the id.
 */
export const ADD_ORDERED = "local f = {'data', ARGV[1], 'order', ARGV[2]} if ARGV[4] == '1' then table.insert(f, 'readded') table.insert(f, '1') end local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', '100000', '*', unpack(f)) redis.call('RPUSH', KEYS[2], id) redis.call('PEXPIRE', KEYS[2], ARGV[3]) return id";
/**
 * Is ARGV[1] the head of its order list (KEYS[2])? Heads whose entry is no longer in the stream
 * (done and deleted, trimmed, lost with a Redis that came back empty) are dropped first. 1: its
 * turn (also when it is not in the list: nothing to wait for); else the id of the head it waits for.
 */
export const ORDER_HEAD = "while true do local h = redis.call('LINDEX', KEYS[2], 0) if not h or h == ARGV[1] then return 1 end if #redis.call('XRANGE', KEYS[1], h, h) == 0 then redis.call('LPOP', KEYS[2]) elseif not redis.call('LPOS', KEYS[2], ARGV[1]) then return 1 else return h end end";
/** first write wins: SET NX the reply, publish the winner, return it */
export const COMPLETE = "local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) local v = redis.call('GET', KEYS[1]) if ok then redis.call('PUBLISH', KEYS[2], ARGV[3]) end return v";
