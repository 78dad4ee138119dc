import { defineConfig } from "drizzle-kit";

// Paths are relative to the working directory: run through `npm run db:generate` at the repo root.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
