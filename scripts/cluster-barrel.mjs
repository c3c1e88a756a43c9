// The `@effect/platform-node` barrel as the CLI bundle sees it (scripts/bundle.mjs): every module
// except the cluster and socket ones. Through the real barrel, the code-split bundle would put
// @effect/cluster, @effect/rpc, @effect/sql and pg in the chunk every command loads at start-up;
// without them there, they load only with `leakproof runner` and `fetch --cluster` (dynamic
// imports of their deep paths). A module missing here fails the build loudly: add it.
export * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor";
export * as NodeContext from "@effect/platform-node/NodeContext";
export * as NodeFileSystem from "@effect/platform-node/NodeFileSystem";
export * as NodeHttpClient from "@effect/platform-node/NodeHttpClient";
export * as NodeHttpPlatform from "@effect/platform-node/NodeHttpPlatform";
export * as NodeHttpServer from "@effect/platform-node/NodeHttpServer";
export * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest";
export * as NodeKeyValueStore from "@effect/platform-node/NodeKeyValueStore";
export * as NodeMultipart from "@effect/platform-node/NodeMultipart";
export * as NodePath from "@effect/platform-node/NodePath";
export * as NodeRuntime from "@effect/platform-node/NodeRuntime";
export * as NodeSink from "@effect/platform-node/NodeSink";
export * as NodeStream from "@effect/platform-node/NodeStream";
export * as NodeTerminal from "@effect/platform-node/NodeTerminal";
export * as NodeWorker from "@effect/platform-node/NodeWorker";
export * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner";
export * as Undici from "@effect/platform-node/Undici";
