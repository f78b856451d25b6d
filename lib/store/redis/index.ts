export { RedisStoreProvider, redactRedisUrl, type RedisStoreOptions } from './provider';
