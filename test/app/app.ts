// The reference app (app/) in a real browser: Debian's Chromium driven by playwright-core, the
// app built by Vite and served from 127.0.0.1, a `hardhat node` with the deploy script's
// deployment, and an injected EIP-1193 wallet forwarding to the node's unlocked accounts. Every
// number the page shows is checked against the SDK reading the same chain.
import { expect } from "chai";
import path from "node:path";
import type { Page } from "playwright-core";
import { Contract } from "ethers";
import {
  formatAmount, formatPrice, formatUnits,
  type BulkheadClient, type CollateralRemovedEvent, type PositionDecreasedEvent, type PositionView,
} from "@bulkhead/sdk";
import { PoolMath } from "@bulkhead/sdk/math";
import { skipUnderCoverage } from "../helpers/processes.js";
import {
  ACCOUNTS, injectWallet, requestsAtRows, requireChromium, ROOT, setInput, startApp, startDevnetApp, switchAccount, until,
  type AppRig, type DevnetRig, type InjectedWallet, type LocalSystem,
} from "./harness.js";

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;
// BULKHEAD_APP_SCREENSHOTS=1 refreshes docs/app-*.png; a normal run writes nothing into the tree.
const SCREENSHOTS = process.env.BULKHEAD_APP_SCREENSHOTS === "1";

describe("app: the reference trading app in Chromium against a node", function () {
  this.timeout(300_000);
  let rig: AppRig | undefined;
  let sys: LocalSystem;
  let page: Page;
  let wallet: InjectedWallet;
  let trader: BulkheadClient;
  let keeper: BulkheadClient;
  let traderAddress: string;
  let ethId: bigint;
  let btcId: bigint;

  const row = (id: bigint) => page.locator(`[data-testid="position-${id}"]`);
  const raw = async (id: bigint, cell: string) => (await row(id).locator(`[data-testid="${cell}"]`).getAttribute("data-raw")) ?? "";
  const shot = (name: string) => screenshot(page, name);
  /** The position as the SDK reads it at the block the page's row was read at. */
  const sdkView = async (id: bigint): Promise<PositionView> => {
    const block = Number(await row(id).getAttribute("data-block"));
    const [view] = await trader.getPositions([id], block);
    return view!;
  };

  /** A fresh browser context with the app open in one tab, a wallet of `account` injected and connect clicked; closed after `fn`. */
  const inFreshTab = async (
    account: string,
    fn: (tab: Page, wallet: InjectedWallet) => Promise<void>,
    opts: { chainId?: number; beforeLoad?: (tab: Page) => Promise<void> } = {},
  ) => {
    const context = await rig!.browser.newContext({ viewport: { width: 1360, height: 900 } });
    try {
      const tab = await context.newPage();
      const w = await injectWallet(tab, sys.node.url, account, opts);
      await opts.beforeLoad?.(tab);
      await tab.goto(rig!.url);
      await tab.getByTestId("connect").click();
      await fn(tab, w);
    } finally {
      await context.close();
    }
  };

  before(function () {
    skipUnderCoverage(this);
    requireChromium(this);
  });

  before(async () => {
    rig = await startApp("localhost.json", ACCOUNTS.trader);
    ({ sys, page, wallet } = rig);
    trader = await sys.client(ACCOUNTS.trader);
    keeper = await sys.client(ACCOUNTS.keeper);
    traderAddress = await trader.signer!.getAddress();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(rig?.log.slice(-30).join("\n"));
  });

  after(async () => {
    await rig?.close();
  });

  it("test_app_connect_showsMarketsWithTheSdkPrice", async () => {
    await until(async () => (await page.getByTestId("account").innerText()).includes(traderAddress.slice(0, 6)), "the connected account");
    const ethPrice = (await trader.getMarket(0)).price!;
    expect(await page.getByTestId("market-0").getByTestId("market-price").innerText()).to.equal(`$${formatPrice(ethPrice, { thousands: "," })}`);
    expect(wallet.requests).to.include("eth_requestAccounts");
  });

  it("test_app_ticket_opensAPositionIntoTheQuotedVault_andShowsTheSdkLiquidationPrice", async () => {
    await page.getByTestId("side-long").click();
    await setInput(page, '[data-testid="ticket-collateral"]', "100");
    await setInput(page, '[data-testid="ticket-leverage"]', "200"); // 20.0x
    await until(async () => (await page.getByTestId("ticket-leverage-value").innerText()) === "20.0x", "the leverage label");
    await page.getByTestId("quote").waitFor();
    const quotedVault = await page.getByTestId("quote-vault").innerText();
    await page.getByTestId("ticket-open").click();
    await page.getByTestId("notice").waitFor();
    const [view] = await trader.getPositionsOf(traderAddress);
    ethId = view!.id;
    expect(quotedVault).to.equal(trader.vaultOf(ethId));
    expect(view!.vault).to.equal(quotedVault);
    expect(await page.getByTestId("notice").innerText()).to.contain(view!.vault);
    await row(ethId).waitFor();
    expect(await row(ethId).getByTestId("vault").getAttribute("title")).to.equal(view!.vault);

    const sdk = await sdkView(ethId);
    expect(await raw(ethId, "liquidation-price")).to.equal(String(sdk.health!.liquidationPrice));
    expect(await row(ethId).getByTestId("liquidation-price").innerText()).to.equal(`$${formatPrice(sdk.health!.liquidationPrice, { thousands: "," })}`);
    expect(await raw(ethId, "collateral")).to.equal(String(sdk.position.collateral));
    expect(sdk.position.isLong).to.equal(true);
    expect(sdk.position.collateral).to.equal(100n * USDC);
  });

  it("test_app_topUp_raisesHealth", async () => {
    // A second position of the same trader (BTC short, opened through the SDK) to watch stay put.
    const btc = await trader.open({ market: 1, side: "short", collateral: 200n * USDC, leverage: 5n * WAD });
    btcId = btc.id;
    await row(btcId).waitFor();
    const before = BigInt(await raw(ethId, "health"));
    await row(ethId).getByTestId("manage").click();
    await setInput(page, `[data-testid="detail-${ethId}"] [data-testid="topup-amount"]`, "50");
    await page.locator(`[data-testid="detail-${ethId}"] [data-testid="topup"]`).click();
    await until(async () => (await raw(ethId, "collateral")) === String(150n * USDC), "the topped-up collateral");
    const after = BigInt(await raw(ethId, "health"));
    expect(after > before, `health ${after} after the top-up, ${before} before`).to.equal(true);
    const sdk = await sdkView(ethId);
    expect(await raw(ethId, "health")).to.equal(String(sdk.health!.healthFactor));
    await shot("trade");
  });

  it("test_app_priceMove_showsTheHealthWarning", async () => {
    await setInput(page, '[data-testid="threshold"]', "2");
    expect(await page.getByTestId("health-warning").count()).to.equal(0);
    const v = await sdkView(ethId);
    // The price at which the SDK's local math puts its health at 1.5: healthy, but under 2.
    let lo = v.health!.liquidationPrice;
    let hi = v.position.entryPrice;
    while (hi - lo > 10n ** 12n) {
      const mid = (lo + hi) / 2n;
      if (trader.healthAt(v, mid).healthFactor! < (3n * WAD) / 2n) lo = mid;
      else hi = mid;
    }
    await sys.setPrice(0, hi);
    const warning = page.getByTestId("health-warning");
    await warning.waitFor();
    expect(await warning.innerText()).to.match(new RegExp(`Position #${ethId} \\(ETH/USD long\\) has health \\d+\\.\\d\\d, under your warning level of 2`));
    expect(await warning.count()).to.equal(1); // the BTC short is not warned about
    const hf = BigInt(await raw(ethId, "health"));
    expect(hf > WAD && hf < 2n * WAD, String(hf)).to.equal(true);
    await shot("warning");
  });

  it("test_app_liquidation_showsInHistory_andLeavesTheOtherPositionUnchanged", async () => {
    const other = { collateral: await raw(btcId, "collateral"), vault: await row(btcId).getByTestId("vault").getAttribute("title"), liq: await raw(btcId, "liquidation-price") };
    const otherBalance = (await trader.getPositions([btcId]))[0]!.vaultBalance;
    const v = await sdkView(ethId);
    await sys.setPrice(0, (v.health!.liquidationPrice * 99n) / 100n);
    const { event } = await keeper.liquidate({ id: ethId });
    expect(event.id).to.equal(ethId);
    await row(ethId).waitFor({ state: "detached" });

    expect(await raw(btcId, "collateral")).to.equal(other.collateral);
    expect(await row(btcId).getByTestId("vault").getAttribute("title")).to.equal(other.vault);
    // The BTC short's liquidation price moves only with its own accrued borrow fee.
    const btcNow = await sdkView(btcId);
    expect(await raw(btcId, "liquidation-price")).to.equal(String(btcNow.health!.liquidationPrice));
    expect(BigInt(await raw(btcId, "liquidation-price")) - BigInt(other.liq) <= 0n).to.equal(true);
    expect(btcNow.vaultBalance).to.equal(otherBalance);

    await page.getByTestId("tab-history").click();
    const liquidated = page.getByTestId(`history-PositionLiquidated-${ethId}`);
    await liquidated.waitFor();
    expect(await liquidated.innerText()).to.contain("Liquidated");
    for (const type of ["PositionOpened", "CollateralAdded"]) await page.getByTestId(`history-${type}-${ethId}`).waitFor();
    await page.getByTestId(`history-PositionOpened-${btcId}`).waitFor();
    await shot("history");
    await page.getByTestId("tab-pool").click();
    await page.getByTestId("share-price").waitFor();
    expect(await page.getByTestId("share-price").innerText()).to.match(/USDC per share/);
    await page.getByTestId("tab-trade").click();
  });

  it("test_app_wrongNetwork_offersTheSwitch_thenAnEmptyWalletIsToldBeforeSigning", async () => {
    // A wallet on chain 1 with no USDC: the app names both chains, switches on request, and the
    // ticket says what is missing instead of asking for an approval.
    const empty = await (await sys.provider.getSigner(ACCOUNTS.empty)).getAddress();
    await inFreshTab(empty, async (other, w) => {
      const banner = other.getByTestId("wrong-network");
      await banner.waitFor();
      expect(await banner.innerText()).to.match(/^Your wallet is on chain 1; this app trades on chain 31337 \(localhost\)\./);
      await banner.getByRole("button", { name: "Switch to localhost" }).click();
      await other.getByTestId("markets").waitFor();
      expect(w.requests).to.include("wallet_switchEthereumChain");
      await banner.waitFor({ state: "detached" });
      const problem = other.getByTestId("quote-problem");
      await problem.waitFor();
      const q = await trader.quoteOpen({ market: 0, side: "long", collateral: 100n * USDC, leverage: 5n * WAD }); // the ticket's defaults
      const needs = formatAmount(100n * USDC + q.openFee, trader.token, { maxDecimals: 2, rounding: "nearest", thousands: "," });
      expect(await problem.innerText()).to.equal(`Your wallet has 0 USDC; this trade needs ${needs} (collateral and open fee).`);
      expect(await other.getByTestId("ticket-open").isDisabled()).to.equal(true);
      expect(w.requests).to.not.include("eth_sendTransaction");
    }, { chainId: 1 });
  });

  it("test_app_rejectedSignature_showsItsSentence_andSendsNothing", async () => {
    const sent = wallet.requests.filter((m) => m === "eth_sendTransaction").length;
    wallet.rejectNext = true;
    await row(btcId).getByTestId("manage").click();
    await page.locator(`[data-testid="detail-${btcId}"] [data-testid="close"]`).click();
    const error = page.getByTestId("error");
    await error.waitFor();
    const text = await error.innerText();
    expect(text).to.match(/rejected the transaction/i);
    expect(text).to.not.match(/0x[0-9a-f]{8}/i);
    expect(wallet.requests.filter((m) => m === "eth_sendTransaction").length).to.equal(sent + 1);
    expect(wallet.rejectNext).to.equal(false);
    expect((await trader.getPositions([btcId]))[0]).to.not.equal(null);
    await row(btcId).waitFor();
  });

  it("test_app_accountChangedInTheWallet_showsThatAccountsPositionsAndBalance_thenDisconnects", async () => {
    const keeperAddress = await keeper.signer!.getAddress();
    const { id: keepers } = await keeper.open({ market: 0, side: "short", collateral: 150n * USDC, leverage: 3n * WAD });
    const traders = (await trader.getPositionsOf(traderAddress)).map((v) => v.id);
    try {
      await inFreshTab(traderAddress, async (tab, w) => {
        const rows = async () => (await tab.locator('[data-testid^="position-"]').evaluateAll((els) => els.map((e) => e.getAttribute("data-testid")))).sort();
        const expectRows = (ids: bigint[]) => until(async () => JSON.stringify(await rows()) === JSON.stringify(ids.map((id) => `position-${id}`).sort()), `rows ${ids.join(", ")}`);
        await expectRows(traders);
        await switchAccount(tab, w, keeperAddress);
        await until(async () => (await tab.getByTestId("account").innerText()).includes(keeperAddress.slice(0, 6)), "the new account");
        await expectRows([keepers]);
        const balance = (await keeper.getPoolWithLp(keeperAddress)).lp.assetBalance;
        const shown = formatAmount(balance, keeper.token, { maxDecimals: 2, rounding: "nearest", thousands: "," });
        await until(async () => (await tab.getByTestId("balance").innerText()) === shown, `the new account's balance ${shown}`);
        // The site disconnected in the wallet: back to the connect button, no account's data left.
        await switchAccount(tab, w, null);
        await tab.getByTestId("connect").waitFor();
        expect(await tab.locator('[data-testid^="position-"]').count()).to.equal(0);
      });
    } finally {
      await keeper.close({ id: keepers });
    }
  });

  it("test_app_pageLoad_isTheWalletHandshakeAndFourReads_historyOnlyWithItsTab", async () => {
    // A fresh tab of the same app and wallet: connect, then every open position's row.
    const { id: extra } = await trader.open({ market: 1, side: "long", collateral: 120n * USDC, leverage: 2n * WAD });
    const open = (await trader.getPositionsOf(traderAddress)).map((v) => v.id);
    expect(open).to.include(extra);
    let atRows: () => Promise<string[]> = async () => [];
    await inFreshTab(traderAddress, async (tab, w) => {
      // eth_requestAccounts and eth_chainId of the wallet; the SDK's deployment check, the
      // overview (markets, pool, the account's LP position and balance), one Transfer-log scan
      // and the positions: no eth_blockNumber, no eth_accounts, no history scan. Counted at the
      // moment the rows are in the DOM (the ticket's quote and the new-block check come after).
      const load = await atRows();
      expect([...load].sort()).to.deep.equal(["eth_call", "eth_call", "eth_call", "eth_chainId", "eth_getLogs", "eth_requestAccounts"]);
      const before = w.requests.filter((m) => m === "eth_getLogs").length;
      await tab.getByTestId("tab-history").click();
      await tab.locator('[data-testid^="history-PositionOpened-"]').first().waitFor();
      expect(w.requests.filter((m) => m === "eth_getLogs").length).to.be.greaterThan(before);
    }, { beforeLoad: async (tab) => void (atRows = await requestsAtRows(tab, open.length)) });
    await trader.close({ id: extra });
  });
});

describe("app: managing a position and the LP panel (instant deployment)", function () {
  // Each test opens what it needs through the SDK at a price it sets, so none depends on another.
  this.timeout(300_000);
  let rig: AppRig | undefined;
  let sys: LocalSystem;
  let page: Page;
  let trader: BulkheadClient;
  let traderAddress: string;
  let pool: Contract;
  let token: Contract;

  const row = (id: bigint) => page.locator(`[data-testid="position-${id}"]`);
  const detail = (id: bigint) => page.getByTestId(`detail-${id}`);
  const raw = async (id: bigint, cell: string) => (await row(id).locator(`[data-testid="${cell}"]`).getAttribute("data-raw")) ?? "";
  const latest = async () => String(await sys.provider.getBlockNumber());
  /** Waits until the page has read the latest block (nothing else mines meanwhile: the node only mines our transactions). */
  const pageAtLatest = async (locator: ReturnType<Page["getByTestId"]>, what: string) => {
    await until(async () => (await locator.getAttribute("data-block")) === (await latest()), what);
  };
  /** A fresh ETH/USD position of the trader at $3,000, shown on the page with its detail row open. */
  const openManaged = async (side: "long" | "short", collateral: bigint, leverage: bigint) => {
    await sys.setPrice(0, 3000n * WAD);
    const { id } = await trader.open({ market: 0, side, collateral, leverage });
    await page.getByTestId("tab-trade").click();
    await row(id).waitFor();
    await row(id).getByTestId("manage").click();
    await detail(id).waitFor();
    return id;
  };
  const eventsOf = async (fromBlock: number) => trader.getPositionEvents({ fromBlock });

  before(function () {
    skipUnderCoverage(this);
    requireChromium(this);
  });

  before(async () => {
    rig = await startApp("localhost.json", ACCOUNTS.trader);
    ({ sys, page } = rig);
    trader = await sys.client(ACCOUNTS.trader);
    traderAddress = await trader.signer!.getAddress();
    const erc4626 = ["function previewDeposit(uint256) view returns (uint256)", "function previewWithdraw(uint256) view returns (uint256)", "function balanceOf(address) view returns (uint256)"];
    pool = new Contract(sys.record.pool, erc4626, sys.provider);
    token = new Contract(sys.record.token, ["function balanceOf(address) view returns (uint256)"], sys.provider);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(rig?.log.slice(-30).join("\n"));
  });

  after(async () => {
    await rig?.close();
  });

  it("test_app_removeMax_removesExactlyTheSdkMaxRemovable", async () => {
    const id = await openManaged("long", 100n * USDC, 10n * WAD);
    const max = detail(id).getByTestId("remove-max");
    await pageAtLatest(max, "the max removable at the latest block");
    const shown = BigInt((await max.getAttribute("data-raw"))!);
    const q = await trader.quoteRemoveCollateral({ id, amount: 1n });
    expect(q.blockNumber).to.equal(Number(await max.getAttribute("data-block")));
    expect(shown).to.equal(q.maxRemovable);
    expect(shown > 0n && shown < 100n * USDC, String(shown)).to.equal(true);
    await max.click();
    expect(await detail(id).getByTestId("remove-amount").inputValue()).to.equal(formatUnits(shown, 6));

    const from = (await sys.provider.getBlockNumber()) + 1;
    await detail(id).getByTestId("remove").click();
    await page.getByTestId("notice").waitFor();
    const removed = (await eventsOf(from)).find((e): e is CollateralRemovedEvent => e.type === "CollateralRemoved" && e.id === id)!;
    expect(removed.amount).to.equal(shown);
    expect(await page.getByTestId("notice").innerText()).to.equal(`Removed ${formatAmount(shown, trader.token, { maxDecimals: 2, rounding: "nearest", thousands: "," })} from position #${id}.`);
    await until(async () => (await raw(id, "collateral")) === String(removed.newCollateral), "the collateral after the removal");
    expect((await trader.getPosition(id))!.position.collateral).to.equal(removed.newCollateral);
    // The max was the most that leaves the position fundable: what is left to remove now is only
    // the fee buffer's margin, far under what was removed.
    await pageAtLatest(max, "the max removable after the removal");
    expect(BigInt((await max.getAttribute("data-raw"))!) < shown / 10n).to.equal(true);
  });

  it("test_app_decrease_takesOffTheTypedSize_andPaysWithinTheQuote", async () => {
    const id = await openManaged("short", 200n * USDC, 5n * WAD);
    const size = BigInt(await raw(id, "size"));
    const delta = size / 2n;
    await setInput(page, `[data-testid="detail-${id}"] [data-testid="decrease-size"]`, formatUnits(delta, 18));
    const quote = detail(id).getByTestId("decrease-quote");
    await quote.waitFor();
    await pageAtLatest(quote, "the decrease quote at the latest block");
    const sdk = await trader.quoteDecrease({ id, sizeDelta: delta });
    expect(sdk.blockNumber).to.equal(Number(await quote.getAttribute("data-block")));
    expect(await quote.getAttribute("data-received")).to.equal(String(sdk.received));
    expect(await quote.getAttribute("data-min-received")).to.equal(String(sdk.minReceived));
    expect(sdk.ok).to.equal(true);

    const from = (await sys.provider.getBlockNumber()) + 1;
    await detail(id).getByTestId("decrease").click();
    await page.getByTestId("notice").waitFor();
    const done = (await eventsOf(from)).find((e): e is PositionDecreasedEvent => e.type === "PositionDecreased" && e.id === id)!;
    expect(done.sizeDelta).to.equal(delta);
    expect(done.newSize).to.equal(size - delta);
    // At the quoted price: a second more of borrow fee can only take from the quoted payout.
    expect(done.payout <= sdk.received && done.payout >= sdk.minReceived, `${done.payout} in [${sdk.minReceived}, ${sdk.received}]`).to.equal(true);
    expect(await page.getByTestId("notice").innerText()).to.contain(`${formatAmount(done.payout, trader.token, { maxDecimals: 2, rounding: "nearest", thousands: "," })} paid out`);
    await until(async () => (await raw(id, "size")) === String(size - delta), "the decreased size");
    expect((await trader.getPosition(id))!.position.size).to.equal(size - delta);
    expect(await raw(id, "collateral")).to.equal(String(done.newCollateral));
  });

  it("test_app_whatIf_showsTheSdkHealthAtTheSliderPrice_andSendsNothing", async () => {
    const id = await openManaged("long", 100n * USDC, 10n * WAD);
    const blockBefore = await latest();
    await setInput(page, `[data-testid="detail-${id}"] [data-testid="whatif"]`, "93");
    const result = detail(id).getByTestId("whatif-result");
    await until(async () => (await result.innerText()).includes("(-7 %)"), "the what-if price");
    const [view] = await trader.getPositions([id], Number(await row(id).getAttribute("data-block")));
    const at = (view!.price! * 93n) / 100n;
    expect(await result.getAttribute("data-price")).to.equal(String(at));
    const h = trader.healthAt(view!, at);
    expect(await result.getAttribute("data-health")).to.equal(String(h.healthFactor));
    expect(await result.getAttribute("data-equity")).to.equal(String(h.equity));
    expect(await result.innerText()).to.contain(`At ${`$${formatPrice(at, { thousands: "," })}`} (-7 %)`);
    expect(await latest()).to.equal(blockBefore);
  });

  it("test_app_close_paysWithinTheSdkQuote_andTheRowMovesToHistory", async () => {
    const id = await openManaged("long", 120n * USDC, 3n * WAD);
    const q = await trader.quoteClose({ id });
    const from = (await sys.provider.getBlockNumber()) + 1;
    await detail(id).getByTestId("close").click();
    await page.getByTestId("notice").waitFor();
    const closed = (await eventsOf(from)).find((e): e is PositionDecreasedEvent => e.type === "PositionDecreased" && e.id === id)!;
    expect(closed.newSize).to.equal(0n);
    expect(closed.payout <= q.received && closed.payout >= q.minReceived, `${closed.payout} in [${q.minReceived}, ${q.received}]`).to.equal(true);
    const paid = formatAmount(closed.payout, trader.token, { maxDecimals: 2, rounding: "nearest", thousands: "," });
    expect(await page.getByTestId("notice").innerText()).to.equal(`Position #${id} closed at $${formatPrice(closed.price, { thousands: "," })}; ${paid} paid out.`);
    await row(id).waitFor({ state: "detached" });
    expect(await trader.getPosition(id)).to.equal(null);
    await page.getByTestId("tab-history").click();
    const entry = page.getByTestId(`history-PositionDecreased-${id}`);
    await entry.waitFor();
    expect(await entry.innerText()).to.contain(`Closed, paid ${paid}`);
    await page.getByTestId("tab-trade").click();
  });

  it("test_app_lp_depositMintsThePreviewedShares_andWithdrawBurnsThePreviewedShares", async () => {
    // Without open interest no borrow fee accrues, so the share price of the page's block is the
    // one the next block's transaction gets: the preview must then be exact.
    for (const v of await trader.getPositionsOf(traderAddress)) await trader.close({ id: v.id });
    await page.getByTestId("tab-pool").click();
    const panel = page.getByTestId("pool");
    await setInput(page, '[data-testid="lp-amount"]', "1234.5");
    await pageAtLatest(panel, "the pool at the latest block");
    const block = Number(await panel.getAttribute("data-block"));
    const assets = 1234_500_000n;
    const mint = BigInt((await page.getByTestId("lp-preview-mint").getAttribute("data-raw"))!);
    expect(mint).to.equal(await pool.getFunction("previewDeposit")(assets, { blockTag: block }));
    const sdkPool = await trader.getPool();
    expect(sdkPool.blockNumber).to.equal(block);
    expect(mint).to.equal(PoolMath.toSharesDown(assets, sdkPool.totalAssets!, sdkPool.totalSupply));
    const before = (await trader.getLpPosition(traderAddress)).shares;
    expect(await page.getByTestId("lp-shares").getAttribute("data-raw")).to.equal(String(before));

    await page.getByTestId("lp-deposit").click();
    await page.getByTestId("notice").waitFor();
    const afterDeposit = (await pool.getFunction("balanceOf")(traderAddress)) as bigint;
    expect(afterDeposit - before).to.equal(mint);
    expect(await page.getByTestId("notice").innerText()).to.equal(`Deposited 1,234.5 USDC for ${formatUnits(mint, sdkPool.shareDecimals, { maxDecimals: 4, thousands: "," })} shares.`);
    await until(async () => (await page.getByTestId("lp-shares").getAttribute("data-raw")) === String(afterDeposit), "the shares after the deposit");

    await setInput(page, '[data-testid="lp-amount"]', "1000");
    await pageAtLatest(panel, "the pool after the deposit");
    const burn = BigInt((await page.getByTestId("lp-preview-burn").getAttribute("data-raw"))!);
    expect(burn).to.equal(await pool.getFunction("previewWithdraw")(1000n * USDC, { blockTag: Number(await panel.getAttribute("data-block")) }));
    const usdcBefore = (await token.getFunction("balanceOf")(traderAddress)) as bigint;
    await page.getByTestId("lp-withdraw").click();
    await until(async () => (await page.getByTestId("notice").count()) === 1 && (await page.getByTestId("notice").innerText()).startsWith("Withdrew"), "the withdrawal notice");
    const afterWithdraw = (await pool.getFunction("balanceOf")(traderAddress)) as bigint;
    expect(afterDeposit - afterWithdraw).to.equal(burn);
    expect(((await token.getFunction("balanceOf")(traderAddress)) as bigint) - usdcBefore).to.equal(1000n * USDC);
    await until(async () => (await page.getByTestId("lp-shares").getAttribute("data-raw")) === String(afterWithdraw), "the shares after the withdrawal");
  });

  it("test_app_lp_withdrawAboveTheMax_isRefusedWithItsSentence_andSendsNothing", async () => {
    await page.getByTestId("tab-pool").click();
    const max = page.getByTestId("lp-max-withdraw");
    await pageAtLatest(page.getByTestId("pool"), "the pool at the latest block");
    const lp = await trader.getLpPosition(traderAddress);
    expect(await max.getAttribute("data-raw")).to.equal(String(lp.maxWithdraw));
    const blockBefore = await latest();
    await setInput(page, '[data-testid="lp-amount"]', formatUnits(lp.maxWithdraw + 1n, 6));
    await page.getByTestId("lp-withdraw").click();
    const error = page.getByTestId("error");
    await error.waitFor();
    const shownMax = formatAmount(lp.maxWithdraw, trader.token, { maxDecimals: 2, rounding: "nearest", thousands: "," });
    expect((await error.innerText()).startsWith(`You can withdraw at most ${shownMax} now (limited by your shares and the free liquidity).`)).to.equal(true);
    expect(await latest()).to.equal(blockBefore);
  });
});

describe("app: on a two-step deployment (requests, order book)", function () {
  this.timeout(300_000);
  let rig: AppRig | undefined;
  let sys: LocalSystem;
  let page: Page;
  let trader: BulkheadClient;
  let executor: BulkheadClient;
  let traderAddress: string;
  let positionId: bigint;

  before(function () {
    skipUnderCoverage(this);
    requireChromium(this);
  });

  before(async () => {
    rig = await startApp("localhost-requests.json", ACCOUNTS.trader);
    ({ sys, page } = rig);
    trader = await sys.client(ACCOUNTS.trader);
    executor = await sys.client(ACCOUNTS.keeper);
    traderAddress = await trader.signer!.getAddress();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(rig?.log.slice(-30).join("\n"));
  });

  after(async () => {
    await rig?.close();
  });

  it("test_app_twoStep_ticketSendsARequest_shownPendingUntilExecuted", async () => {
    await setInput(page, '[data-testid="ticket-collateral"]', "200");
    await setInput(page, '[data-testid="ticket-leverage"]', "50"); // 5.0x
    await page.getByTestId("quote").waitFor();
    await until(async () => (await page.getByTestId("ticket-open").innerText()).startsWith("Request long 5.0x"), "the request button");
    await page.getByTestId("ticket-open").click();
    await page.getByTestId("notice").waitFor();
    const pending = page.getByTestId("pending-opens");
    await pending.waitFor();
    expect(await pending.innerText()).to.match(/Open request #\d+: ETH\/USD long .* (waiting for report|executable)/);

    const [created] = (await trader.getRequestEvents({ account: traderAddress })).filter((e) => e.type === "RequestCreated");
    const request = (await trader.getRequest(created!.requestId))!;
    // The deployment's many blocks ran the node's clock ahead of the wall clock: mine up to the
    // pinned second instead of waiting for it.
    while ((await sys.provider.getBlock("latest"))!.timestamp <= request.settlesAt) await sys.provider.send("evm_mine", []);
    const report = sys.signReport(0, request.settlesAt, (await trader.getMarket(0)).price!);
    const done = await executor.executeRequest({ requestId: request.id, report });
    expect(done.filled).to.equal(true);
    positionId = (done.event as { positionId: bigint }).positionId;
    await page.locator(`[data-testid="position-${positionId}"]`).waitFor();
    await pending.waitFor({ state: "detached" });
  });

  it("test_app_twoStep_placesAStopLossAndATakeProfit_listedAsTheSdkReadsThem", async () => {
    const row = page.locator(`[data-testid="position-${positionId}"]`);
    await row.getByTestId("manage").click();
    const detail = page.getByTestId(`detail-${positionId}`);
    await setInput(page, `[data-testid="detail-${positionId}"] [data-testid="sl-price"]`, "2800");
    await detail.getByTestId("place-sl").click();
    await until(async () => (await detail.getByTestId("order").count()) === 1, "the stop-loss in the list");
    await setInput(page, `[data-testid="detail-${positionId}"] [data-testid="tp-price"]`, "3300");
    await detail.getByTestId("place-tp").click();
    await until(async () => (await detail.getByTestId("order").count()) === 2, "the take-profit in the list");

    const { orders } = await trader.getPositionOrders(positionId);
    expect(orders.map((o) => [o.kind, o.trigger])).to.have.deep.members([["StopLoss", 2800n * WAD], ["TakeProfit", 3300n * WAD]]);
    const shown = await detail.getByTestId("order").allInnerTexts();
    expect(shown.some((t) => t.startsWith("Stop-loss") && t.includes("$2,800.00"))).to.equal(true);
    expect(shown.some((t) => t.startsWith("Take-profit") && t.includes("$3,300.00"))).to.equal(true);
    await screenshot(page, "orders");
  });

  it("test_app_twoStep_badStopPrice_isRefusedWithASentenceNamingTheField", async () => {
    const detail = page.getByTestId(`detail-${positionId}`);
    await setInput(page, `[data-testid="detail-${positionId}"] [data-testid="sl-price"]`, "3,1");
    await detail.getByTestId("place-sl").click();
    const error = page.getByTestId("error");
    await error.waitFor();
    expect(await error.innerText()).to.match(/^The stop price must be a number of USD, like 100 or 250\.5\./);
    expect((await trader.getPositionOrders(positionId)).orders).to.have.length(2);
  });

  /** A position of the trader opened through a request executed at its pinned report, shown with its detail row open. */
  const openByRequest = async (collateral: bigint, leverage: bigint) => {
    const q = await trader.quoteOpen({ market: 0, side: "long", collateral, leverage });
    const r = await trader.requestOpen({ market: 0, side: "long", amount: collateral + q.openFee, size: q.size });
    const request = (await trader.getRequest(r.requestId))!;
    while ((await sys.provider.getBlock("latest"))!.timestamp <= request.settlesAt) await sys.provider.send("evm_mine", []);
    const done = await executor.executeRequest({ requestId: r.requestId, report: sys.signReport(0, request.settlesAt, (await trader.getMarket(0)).price!) });
    expect(done.filled).to.equal(true);
    const id = (done.event as { positionId: bigint }).positionId;
    const row = page.locator(`[data-testid="position-${id}"]`);
    await row.waitFor();
    await row.getByTestId("manage").click();
    await page.getByTestId(`detail-${id}`).waitFor();
    return id;
  };

  it("test_app_twoStep_placesATrailingStop_listedAsTheSdkReadsIt", async () => {
    const id = await openByRequest(150n * USDC, 5n * WAD);
    const detail = page.getByTestId(`detail-${id}`);
    await setInput(page, `[data-testid="detail-${id}"] [data-testid="trail-bps"]`, "250");
    await detail.getByTestId("place-trail").click();
    const shown = detail.locator('[data-testid="order"][data-kind="TrailingStop"]');
    await shown.waitFor();
    const { orders } = await trader.getPositionOrders(id);
    expect(orders).to.have.length(1);
    const o = orders[0]!;
    expect([o.kind, o.trigger, o.size, o.activePositionId]).to.deep.equal(["TrailingStop", 250n, 0n, id]);
    expect(await shown.getAttribute("data-order-id")).to.equal(String(o.id));
    expect(await shown.getAttribute("data-trigger")).to.equal("250");
    expect(await shown.getAttribute("data-acceptable")).to.equal(String(o.acceptablePrice));
    expect(await shown.innerText()).to.match(new RegExp(`^Trailing stop #${o.id}: 2\\.5 % trail, fill no worse than \\$[\\d,]+\\.\\d\\d, whole position`));
    expect(await page.getByTestId("notice").innerText()).to.equal(`Trailing stop #${o.id} placed on position #${id}.`);
  });

  it("test_app_twoStep_cancelsAStopLossFromTheRow", async () => {
    const id = await openByRequest(120n * USDC, 4n * WAD);
    const { orderId } = await trader.placeStopLoss({ positionId: id, triggerPrice: 2500n * WAD });
    const detail = page.getByTestId(`detail-${id}`);
    const shown = detail.locator(`[data-testid="order"][data-order-id="${orderId}"]`);
    await shown.waitFor();
    await shown.getByTestId("cancel-order").click();
    await shown.waitFor({ state: "detached" });
    expect(await page.getByTestId("notice").innerText()).to.equal(`Order #${orderId} cancelled.`);
    expect((await trader.getPositionOrders(id)).orders).to.have.length(0);
    expect(await trader.getOrder(orderId)).to.equal(null);
  });

  it("test_app_twoStep_closeFromTheRow_sendsARequest_listedUntilExecuted", async () => {
    const id = await openByRequest(120n * USDC, 4n * WAD);
    const row = page.locator(`[data-testid="position-${id}"]`);
    const detail = page.getByTestId(`detail-${id}`);
    await detail.getByTestId("close").click();
    const notice = page.getByTestId("notice");
    await until(async () => (await notice.count()) === 1 && (await notice.innerText()).startsWith("Close request #"), "the close request's notice");
    const requestId = BigInt(/^Close request #(\d+) sent\.$/.exec(await notice.innerText())![1]!);
    const listed = detail.getByTestId("position-requests");
    await listed.waitFor();
    expect(await listed.innerText()).to.match(new RegExp(`^Close request #${requestId}: (waiting for report|executable)`));
    const request = (await trader.getRequest(requestId))!;
    expect([request.kind, request.positionId]).to.deep.equal(["Close", id]);

    while ((await sys.provider.getBlock("latest"))!.timestamp <= request.settlesAt) await sys.provider.send("evm_mine", []);
    const done = await executor.executeRequest({ requestId, report: sys.signReport(0, request.settlesAt, (await trader.getMarket(0)).price!) });
    expect(done.filled).to.equal(true);
    await row.waitFor({ state: "detached" });
    expect(await trader.getPosition(id)).to.equal(null);
  });

  it("test_app_twoStep_topUpGuard_listedAsTheSdkReadsIt_andTheKeeperPathRaisesHealth", async () => {
    // 40x: health about 4.8 at the open price, under a threshold of 6, so the guard is due at once.
    const id = await openByRequest(100n * USDC, 40n * WAD);
    const row = page.locator(`[data-testid="position-${id}"]`);
    const detail = page.getByTestId(`detail-${id}`);
    const field = (name: string) => `[data-testid="detail-${id}"] [data-testid="${name}"]`;
    await setInput(page, field("guard-threshold"), "6");
    await setInput(page, field("guard-amount"), "20");
    await setInput(page, field("guard-budget"), "50");
    await detail.getByTestId("place-guard").click();
    const shown = detail.getByTestId("guard");
    await shown.waitFor();
    const { guards } = await trader.getPositionOrders(id);
    expect(guards).to.have.length(1);
    const g = guards[0]!;
    expect([g.threshold, g.amount, g.budget, g.executorFee, g.positionId]).to.deep.equal([6n * WAD, 20n * USDC, 50n * USDC, 0n, id]);
    expect([await shown.getAttribute("data-threshold"), await shown.getAttribute("data-amount"), await shown.getAttribute("data-budget")])
      .to.deep.equal([String(g.threshold), String(g.amount), String(g.budget)]);
    expect(await shown.innerText()).to.match(new RegExp(`^Top-up guard #${g.id}: adds 20 USDC below health 6\\.00, budget left 50 USDC`));

    // The keeper's path: a fresh report after the guard's placement, quoted, then executed.
    await sys.provider.send("evm_mine", []);
    const at = (await sys.provider.getBlock("latest"))!.timestamp;
    const report = sys.signReport(0, at, (await trader.getMarket(0)).price!);
    const quote = await executor.quoteTopUp({ orderId: g.id, report });
    expect(quote.executes, JSON.stringify({ hf: String(quote.healthFactor), due: quote.due, saves: quote.saves })).to.equal(true);
    const collateral = BigInt((await row.getByTestId("collateral").getAttribute("data-raw"))!);
    const health = BigInt((await row.getByTestId("health").getAttribute("data-raw"))!);
    const done = await executor.executeTopUp({ orderId: g.id, report });
    expect(done.event.orderId).to.equal(g.id);
    await until(async () => (await row.getByTestId("collateral").getAttribute("data-raw")) === String(collateral + 20n * USDC), "the topped-up collateral");
    const after = BigInt((await row.getByTestId("health").getAttribute("data-raw"))!);
    expect(after > health, `health ${after} after the top-up, ${health} before`).to.equal(true);
    const view = (await trader.getPositions([id], Number(await row.getAttribute("data-block"))))[0]!;
    expect(String(view.health!.healthFactor)).to.equal(String(after));
    await until(async () => (await shown.getAttribute("data-budget")) === String(30n * USDC), "the guard's budget after one top-up");
    expect((await trader.getTopUpGuard(g.id))!.budget).to.equal(30n * USDC);
  });
});

describe("app: on the devnet (npm run devnet: its keeper executes what the page requests)", function () {
  this.timeout(300_000);
  let rig: DevnetRig | undefined;
  let page: Page;
  let trader: BulkheadClient;
  let traderAddress: string;
  let keeperAddress: string;
  const UI_WAIT = { timeout: 60_000 };

  /** Dev account `account` gets `amount` of the devnet's stablecoin (its faucet is open to anyone). */
  const fund = async (account: number, amount: bigint) => {
    const signer = await rig!.provider.getSigner(account);
    const token = new Contract(rig!.record.token, ["function faucet(address,uint256)"], signer);
    await (await token.getFunction("faucet")(await signer.getAddress(), amount)).wait();
  };
  const lpShares = async () => page.getByTestId("lp-shares").getAttribute("data-raw");

  before(function () {
    skipUnderCoverage(this);
    requireChromium(this);
  });

  before(async () => {
    rig = await startDevnetApp(ACCOUNTS.trader);
    ({ page } = rig);
    trader = await rig.client(ACCOUNTS.trader);
    traderAddress = await trader.signer!.getAddress();
    // The devnet's keeper signs with dev account 19.
    keeperAddress = await (await rig.provider.getSigner(19)).getAddress();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log([...(rig?.log.slice(-30) ?? []), rig?.output().slice(-3000)].join("\n"));
  });

  after(async () => {
    await rig?.close();
  });

  it("test_app_devnet_lpDepositRequest_executedByTheKeeper_thenClaimedFromThePage", async () => {
    await fund(ACCOUNTS.trader, 10_000n * USDC);
    await page.getByTestId("tab-pool").click();
    await page.getByTestId("lp-async").waitFor();
    const before = BigInt((await lpShares())!);
    await setInput(page, '[data-testid="lp-amount"]', "5000");
    const preview = page.getByTestId("lp-request-preview");
    await until(async () => (await preview.count()) === 1 && (await preview.innerText()).startsWith("A deposit request of 5,000 USDC"), "the deposit request's preview");
    const [min, max] = [BigInt((await preview.getAttribute("data-min"))!), BigInt((await preview.getAttribute("data-max"))!)];
    await page.getByTestId("lp-deposit").click();
    const notice = page.getByTestId("notice");
    await notice.waitFor();
    const requestId = BigInt(/^Deposit request #(\d+) sent/.exec(await notice.innerText())![1]!);
    const request = (await trader.getLpRequest(requestId))!;
    expect([request.kind, request.amount, request.controller]).to.deep.equal(["Deposit", 5000n * USDC, traderAddress]);

    const claim = page.getByTestId("lp-claim-deposit");
    await claim.waitFor(UI_WAIT);
    const executed = (await trader.getLpRequestEvents()).find((e) => e.type === "LpRequestExecuted" && e.requestId === requestId)!;
    expect((await rig!.provider.getTransaction(executed.transactionHash))!.from).to.equal(keeperAddress);
    const claimable = await trader.getLpClaimable(traderAddress);
    expect(claimable.deposits.assets).to.equal(5000n * USDC);
    expect(claimable.deposits.shares >= min && claimable.deposits.shares <= max, `${claimable.deposits.shares} shares, previewed [${min}, ${max}]`).to.equal(true);
    expect(await claim.getAttribute("data-raw")).to.equal(String(claimable.deposits.shares));
    await claim.click();
    await until(async () => (await notice.innerText()).startsWith("Claimed"), "the claim's notice");
    await until(async () => (await lpShares()) === String(before + claimable.deposits.shares), "the claimed shares");
    expect((await trader.getLpPosition(traderAddress)).shares).to.equal(before + claimable.deposits.shares);
    await claim.waitFor({ state: "detached" });
  });

  it("test_app_devnet_redemptionRequest_escrowsTheShares_executedByTheKeeper_thenClaimedFromThePage", async () => {
    // Shares of its own first, through the SDK.
    await fund(ACCOUNTS.trader, 5_000n * USDC);
    const { requestId: deposit } = await trader.requestDeposit({ assets: 5_000n * USDC });
    await until(async () => (await trader.getLpRequest(deposit))?.claimable === true, "the keeper's execution of the deposit", 60_000);
    await trader.claimDeposit();
    await page.getByTestId("tab-pool").click();
    const held = (await trader.getLpPosition(traderAddress)).shares;
    await until(async () => (await lpShares()) === String(held), "the shares on the page");

    await setInput(page, '[data-testid="lp-amount"]', "1000");
    await page.getByTestId("lp-withdraw").click();
    const notice = page.getByTestId("notice");
    await until(async () => (await notice.count()) === 1 && (await notice.innerText()).startsWith("Redemption request #"), "the redemption's notice");
    const requestId = BigInt(/^Redemption request #(\d+) for/.exec(await notice.innerText())![1]!);
    const request = (await trader.getLpRequest(requestId))!;
    expect(request.kind).to.equal("Redeem");
    // The request escrows the shares it redeems: they leave the wallet at once.
    expect((await trader.getLpPosition(traderAddress)).shares).to.equal(held - request.amount);

    const claim = page.getByTestId("lp-claim-redeem");
    await claim.waitFor(UI_WAIT);
    const executed = (await trader.getLpRequestEvents()).find((e) => e.type === "LpRequestExecuted" && e.requestId === requestId)!;
    expect((await rig!.provider.getTransaction(executed.transactionHash))!.from).to.equal(keeperAddress);
    const claimable = await trader.getLpClaimable(traderAddress);
    expect(claimable.redemptions.shares).to.equal(request.amount);
    expect(await claim.getAttribute("data-raw")).to.equal(String(claimable.redemptions.assets));
    const token = new Contract(rig!.record.token, ["function balanceOf(address) view returns (uint256)"], rig!.provider);
    const usdc = (await token.getFunction("balanceOf")(traderAddress)) as bigint;
    await claim.click();
    await until(async () => (await notice.innerText()).startsWith("Claimed"), "the claim's notice");
    expect(((await token.getFunction("balanceOf")(traderAddress)) as bigint) - usdc).to.equal(claimable.redemptions.assets);
    await claim.waitFor({ state: "detached" });
  });

  it("test_app_devnet_ticketRequest_filledByTheKeeper_rowShowsTheSdkLiquidationPrice", async () => {
    // Liquidity of its own for the trade, deposited through the SDK by the LP account.
    await fund(ACCOUNTS.lp, 100_000n * USDC);
    const lp = await rig!.client(ACCOUNTS.lp);
    const { requestId: deposit } = await lp.requestDeposit({ assets: 100_000n * USDC });
    await until(async () => (await lp.getLpRequest(deposit))?.claimable === true, "the keeper's execution of the LP deposit", 60_000);
    await lp.claimDeposit();
    await fund(ACCOUNTS.trader, 1_000n * USDC);

    const had = new Set((await trader.getPositionsOf(traderAddress)).map((v) => v.id));
    await page.getByTestId("tab-trade").click();
    await setInput(page, '[data-testid="ticket-collateral"]', "200");
    await setInput(page, '[data-testid="ticket-leverage"]', "50"); // 5.0x
    await until(async () => (await page.getByTestId("ticket-open").innerText()).startsWith("Request long 5.0x"), "the request button");
    await page.getByTestId("ticket-open").click();
    await page.getByTestId("notice").waitFor();
    let id = -1n;
    await until(async () => {
      const fresh = (await trader.getPositionsOf(traderAddress)).find((v) => !had.has(v.id));
      if (fresh) id = fresh.id;
      return fresh !== undefined;
    }, "the keeper's fill of the open request", 60_000);
    const row = page.locator(`[data-testid="position-${id}"]`);
    await row.waitFor(UI_WAIT);
    const filled = (await trader.getRequestEvents({ account: traderAddress })).find((e) => e.type === "RequestExecuted" && (e as { positionId?: bigint }).positionId === id)!;
    expect((await rig!.provider.getTransaction(filled.transactionHash))!.from).to.equal(keeperAddress);
    const [view] = await trader.getPositions([id], Number(await row.getAttribute("data-block")));
    expect(await row.getByTestId("liquidation-price").getAttribute("data-raw")).to.equal(String(view!.health!.liquidationPrice));
    expect(await row.getByTestId("collateral").getAttribute("data-raw")).to.equal(String(view!.position.collateral));
  });
});

async function screenshot(page: Page, name: string) {
  if (SCREENSHOTS) await page.screenshot({ path: path.join(ROOT, "docs", `app-${name}.png`), fullPage: true });
}
