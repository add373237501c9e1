// Deploys a complete Bulkhead system on a Hardhat network connection: 6-decimal stablecoin,
// Chainlink MockV3Aggregator feeds for ETH/USD and BTC/USD (8 decimals), pool, engine (with its
// linked external libraries, see engine.ts), lens, two listed markets and a funded LP.
// Options swap in a hostile collateral token (fee on transfer, blacklist, reentrant) or an L2
// sequencer uptime feed that reports "up since long before the grace period".
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { MockStablecoin, MockV3Aggregator } from "../../types/ethers-contracts/index.js";
import { deployEngineLibraries } from "./engine.js";

export const WAD = 10n ** 18n;
export const USDC = 10n ** 6n;
export const YEAR = 365n * 24n * 3600n;
export const ETH_MARKET = 0n;
export const BTC_MARKET = 1n;
export const ETH_PRICE = 3000n * 10n ** 8n; // feed answers, 8 decimals
export const BTC_PRICE = 60000n * 10n ** 8n;
export const HEARTBEAT = 3600n;

export const defaultParams = {
  maxLeverage: 50n * WAD,
  openFeeRate: WAD / 1000n, // 0.1 %
  closeFeeRate: WAD / 1000n,
  baseBorrowRate: WAD / 10n / YEAR, // 10 % a year
  borrowRateSlope: (4n * WAD) / 10n / YEAR, // +40 % a year at full utilisation
  minCollateral: 10n * USDC,
  maxLongOpenInterest: 10_000n * WAD,
  maxShortOpenInterest: 10_000n * WAD,
};

export const defaultRisk = {
  mmr: WAD / 200n, // 0.5 %
  liquidationFeeRate: WAD / 200n, // 0.5 % of notional to the keeper
  minLiquidationFee: 1n * USDC,
  maxProfitFactorBps: 5000n, // 50 % of entry notional
};

/** Grace period after the L2 sequencer comes back, as deployed by `deploySystem`. */
export const SEQUENCER_GRACE = 3600n;

/**
 * Collateral token to deploy. The hostile ones (6 decimals, `mint` instead of `faucet`) are
 * returned typed as MockStablecoin for their shared ERC-20 surface; use
 * `ethers.getContractAt(kind, token)` for their own functions.
 */
export type TokenKind = "MockStablecoin" | "FeeOnTransferToken" | "BlacklistToken" | "ReentrantToken";

export type Signers = {
  deployer: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  lp: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
};

export async function deploySystem(
  ethers: HardhatEthers,
  opts: { lpDeposit?: bigint; sequencer?: boolean; tokenDecimals?: number; token?: TokenKind } = {},
) {
  const [deployer, guardian, lp, alice, bob, carol, keeper] = await ethers.getSigners();
  const signers: Signers = { deployer, guardian, lp, alice, bob, carol, keeper };
  const kind = opts.token ?? "MockStablecoin";
  const decimals = kind === "MockStablecoin" ? (opts.tokenDecimals ?? 6) : 6;
  const token =
    kind === "MockStablecoin"
      ? await ethers.deployContract("MockStablecoin", ["USD Coin", "USDC", decimals])
      : ((await ethers.deployContract(kind)) as unknown as MockStablecoin);
  const fund = async (to: string, amount: bigint) => {
    if (kind === "MockStablecoin") await (await token.faucet(to, amount)).wait();
    else await (await (await ethers.getContractAt(kind, token)).mint(to, amount)).wait();
  };
  const ethFeed = await ethers.deployContract("MockV3Aggregator", [8, ETH_PRICE]);
  const btcFeed = await ethers.deployContract("MockV3Aggregator", [8, BTC_PRICE]);
  let sequencerFeed: MockV3Aggregator | undefined;
  if (opts.sequencer) {
    // Uptime feed answer 0 = up; its round started well before the grace period.
    sequencerFeed = await ethers.deployContract("MockV3Aggregator", [0, 0]);
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    await (await sequencerFeed.updateRoundData(1n, 0n, now, now - 2n * SEQUENCER_GRACE)).wait();
  }
  const pool = await ethers.deployContract("BulkheadPool", [token, "Bulkhead LP USDC", "bhUSDC"]);
  const libraries = await deployEngineLibraries(ethers);
  const configLogic = await ethers.getContractAt("MarketConfigLogic", libraries.MarketConfigLogic);
  const engine = await ethers.deployContract(
    "Bulkhead",
    [token, pool, deployer.address, guardian.address, sequencerFeed ? await sequencerFeed.getAddress() : ethers.ZeroAddress, SEQUENCER_GRACE],
    { libraries },
  );
  await (await pool.bindEngine(engine)).wait();
  const lens = await ethers.deployContract("BulkheadLens", [engine]);
  await (await engine.listMarket(ethFeed, HEARTBEAT, defaultParams, defaultRisk)).wait();
  await (await engine.listMarket(btcFeed, HEARTBEAT, defaultParams, defaultRisk)).wait();

  const unit = 10n ** BigInt(decimals);
  const lpDeposit = opts.lpDeposit ?? 1_000_000n * unit;
  if (lpDeposit > 0n) {
    await fund(lp.address, lpDeposit);
    await (await token.connect(lp).approve(pool, lpDeposit)).wait();
    await (await pool.connect(lp)["deposit(uint256,address)"](lpDeposit, lp.address)).wait();
  }
  for (const s of [alice, bob, carol, keeper]) {
    await fund(s.address, 1_000_000n * unit);
    await (await token.connect(s).approve(engine, ethers.MaxUint256)).wait();
  }
  return { token, ethFeed, btcFeed, sequencerFeed, pool, engine, lens, configLogic, libraries, signers, fund };
}

/** Price in WAD from an 8-decimal feed answer. */
export const wadFromFeed = (answer: bigint) => answer * 10n ** 10n;

/** A deadline far in the future. */
export const FAR = 2n ** 40n;
