// `node --import ./traceModules.register.mjs …`: install traceModules.mjs, reporting on fd 3.
import { register } from "node:module"

register(new URL("./traceModules.mjs", import.meta.url), { data: { fd: 3 } })
