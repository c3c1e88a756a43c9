// Loader hooks that report every module URL resolved in the process (one per line on the file
// descriptor given as `data.fd`). Used to prove what an import does NOT load.
import { writeSync } from "node:fs"

let fd = 2
export function initialize(data) {
  if (data && typeof data.fd === "number") fd = data.fd
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  writeSync(fd, `${result.url}\n`)
  return result
}
