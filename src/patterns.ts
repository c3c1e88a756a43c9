/**
 * `leakproof/patterns`: every pattern of the seeds as an `Effect` program that returns what
 * happened (`Demo.Report`: its events, live fibers before and after, fibers left behind), the
 * catalogue behind `leakproof demo <name>`. Programs with a `leaky` option run the seed's BAD
 * version too.
 *
 * @since 0.1.0
 */
export * as Demo from "./programs/patterns/Demo.js"
export * as DoneChannel from "./programs/patterns/DoneChannel.js"
export * as ErrorsAsValues from "./programs/patterns/ErrorsAsValues.js"
export * as FanOutFanIn from "./programs/patterns/FanOutFanIn.js"
export * as FirstResponse from "./programs/patterns/FirstResponse.js"
export * as ForgottenSender from "./programs/patterns/ForgottenSender.js"
export * as Generator from "./programs/patterns/Generator.js"
export * as OrChannel from "./programs/patterns/OrChannel.js"
export * as PingPong from "./programs/patterns/PingPong.js"
export * as Pipeline from "./programs/patterns/Pipeline.js"
export * as RateLimited from "./programs/patterns/RateLimited.js"
export * as SafeCache from "./programs/patterns/SafeCache.js"
export * as Ticker from "./programs/patterns/Ticker.js"
export * as Timeout from "./programs/patterns/Timeout.js"
