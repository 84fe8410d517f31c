// Preloaded (node --import) before the interop tests: without node_modules every test file
// would fail on its imports with a message that does not say what to do.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, "node_modules", "@mcap", "core"))) {
  console.error(
    `interop: ${join(here, "node_modules")} is missing or incomplete: run npm ci in tests/interop`,
  );
  process.exit(1);
}
