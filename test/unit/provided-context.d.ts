// What test/vitest.config.ts provides to the `unit` project (read with `inject`).
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** Every documented setting, pinned as the Workers projects run with them (test/node/settings.ts). */
    settings: Record<string, string>;
  }
}
