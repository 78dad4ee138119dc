import { createApp } from "./app";

export { Conversation } from "./durable-objects/conversation";
export { RateLimiter } from "./durable-objects/rate-limiter";

export default createApp();
