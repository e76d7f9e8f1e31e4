import { existsSync } from "node:fs";

/** Settings from `.env` in the working folder, when there is one (the environment wins). */
export function loadEnvFile(): void {
  if (existsSync(".env")) process.loadEnvFile(".env");
}
