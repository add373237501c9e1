// Deploys a complete Bulkhead system on a Hardhat network connection: 6-decimal stablecoin,
// Chainlink MockV3Aggregator feeds for ETH/USD and BTC/USD (8 decimals), pool, engine (with its
// linked MarketConfigLogic library), lens, two listed markets and a funded LP.
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";

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
  opts: { lpDeposit?: bigint; sequencer?: boolean; tokenDecimals?: number } = {},
) {
  const [deployer, guardian, lp, alice, bob, carol, keeper] = await ethers.getSigners();
  const signers: Signers = { deployer, guardian, lp, alice, bob, carol, keeper };
  const decimals = opts.tokenDecimals ?? 6;
  const token = await ethers.deployContract("MockStablecoin", ["USD Coin", "USDC", decimals]);
  const ethFeed = await ethers.deployContract("MockV3Aggregator", [8, ETH_PRICE]);
  const btcFeed = await ethers.deployContract("MockV3Aggregator", [8, BTC_PRICE]);
  let sequencerFeed: Awaited<ReturnType<typeof ethers.deployContract>> | undefined;
  if (opts.sequencer) {
    sequencerFeed = await ethers.deployContract("MockV3Aggregator", [0, 0]);
  }
  const pool = await ethers.deployContract("BulkheadPool", [token, "Bulkhead LP USDC", "bhUSDC"]);
  const configLogic = await ethers.deployContract("MarketConfigLogic");
  const engine = await ethers.deployContract(
    "Bulkhead",
    [token, pool, deployer.address, guardian.address, sequencerFeed ? await sequencerFeed.getAddress() : ethers.ZeroAddress, 3600n],
    { libraries: { MarketConfigLogic: await configLogic.getAddress() } },
  );
  await (await pool.bindEngine(engine)).wait();
  const lens = await ethers.deployContract("BulkheadLens", [engine]);
  await (await engine.listMarket(ethFeed, HEARTBEAT, defaultParams, defaultRisk)).wait();
  await (await engine.listMarket(btcFeed, HEARTBEAT, defaultParams, defaultRisk)).wait();

  const unit = 10n ** BigInt(decimals);
  const lpDeposit = opts.lpDeposit ?? 1_000_000n * unit;
  if (lpDeposit > 0n) {
    await (await token.faucet(lp.address, lpDeposit)).wait();
    await (await token.connect(lp).approve(pool, lpDeposit)).wait();
    await (await pool.connect(lp).deposit(lpDeposit, lp.address)).wait();
  }
  for (const s of [alice, bob, carol, keeper]) {
    await (await token.faucet(s.address, 1_000_000n * unit)).wait();
    await (await token.connect(s).approve(engine, ethers.MaxUint256)).wait();
  }
  return { token, ethFeed, btcFeed, sequencerFeed, pool, engine, lens, configLogic, signers };
}

/** Price in WAD from an 8-decimal feed answer. */
export const wadFromFeed = (answer: bigint) => answer * 10n ** 10n;

/** A deadline far in the future. */
export const FAR = 2n ** 40n;
