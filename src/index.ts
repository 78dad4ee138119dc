import { createApp } from "./app";

export { RateLimiter } from "./durable-objects/rate-limiter";

export default createApp();
