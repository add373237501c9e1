/**
 * The Bulkhead keeper as a library: every piece the CLI (`cli.ts`) assembles, for operators who
 * embed the keeper in their own process or test it.
 * @module
 */
export { Keeper, type KeeperOptions, type CycleReport } from "./keeper.js";
export { PositionTracker, type TrackerOptions, type SyncResult } from "./tracker.js";
export { Evaluator, type Candidate, type Evaluation, type EvaluatorOptions, type MarketStatus, type SequencerStatus } from "./evaluator.js";
export { HealthIndex, EPSILON, type HealthIndexOptions } from "./health-index.js";
export { Executor, type ExecutorOptions, type ChainContext, type NativePrice, type TxSigner } from "./executor.js";
export { TxSender, type Fees, type SenderOptions, type SettleHandler, type BroadcastOutcome } from "./sender.js";
export { LiquidationPlanner, type PlannedBatch, type PlannerOptions } from "./planner.js";
export { batchPays, gasCostInTokens } from "./profit.js";
export { FailoverRpcProvider, RpcStats, RpcUnavailableError, isTransientRpcError, probeChainIds, redactUrl, type RpcOptions } from "./rpc.js";
export { RecordCache, type RecordSnapshot } from "./records.js";
export { JsonStore, StoreError, STORE_VERSION, migrate, type StoreState, type PendingLiquidation, type SentTx, type JobRecord, type JobsState } from "./store.js";
export { JobRunner, executorPay, loadStreams, type JobContext, type Pay, type RunOutcome } from "./jobs.js";
export { PeerSchedule, type PeerOptions } from "./peers.js";
export { RequestKeeper } from "./requests.js";
export { OrderKeeper } from "./orders.js";
export { TriggerIndex, triggerOf, type TriggerEntry } from "./triggers.js";
export { GuardWatch, guardDuePrice } from "./guards.js";
export { StreamsReports, decodeReport, type Report, type ReportSource, type StreamsOptions } from "./reports.js";
export { Metrics, MetricsServer, type HealthReport } from "./metrics.js";
export { Logger, silentLogger, type LogFormat, type LogLevel } from "./logger.js";
export { ConfigError, OPTIONS, loadConfig, type KeeperConfig } from "./config.js";
export { main } from "./cli.js";
