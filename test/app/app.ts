// The reference app (app/) in a real browser: Debian's Chromium driven by playwright-core, the
// app built by Vite and served from 127.0.0.1, a `hardhat node` with the deploy script's
// deployment, and an injected EIP-1193 wallet forwarding to the node's unlocked accounts. Every
// number the page shows is checked against the SDK reading the same chain.
import { expect } from "chai";
import path from "node:path";
import type { Page } from "playwright-core";
import { InsufficientBalanceError, formatPrice, type BulkheadClient, type PositionView } from "@bulkhead/sdk";
import { skipUnderCoverage } from "../helpers/processes.js";
import {
  ACCOUNTS, injectWallet, requireChromium, ROOT, setInput, startApp, until,
  type AppRig, type InjectedWallet, type LocalSystem,
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
    const context = await rig!.browser.newContext({ viewport: { width: 1360, height: 900 } });
    try {
      const other = await context.newPage();
      const empty = await (await sys.provider.getSigner(ACCOUNTS.empty)).getAddress();
      const w = await injectWallet(other, sys.node.url, empty, { chainId: 1 });
      await other.goto(rig!.url);
      await other.getByTestId("connect").click();
      const banner = other.getByTestId("wrong-network");
      await banner.waitFor();
      expect(await banner.innerText()).to.match(/^Your wallet is on chain 1; this app trades on chain 31337 \(localhost\)\./);
      await banner.getByRole("button", { name: "Switch to localhost" }).click();
      await other.getByTestId("markets").waitFor();
      expect(w.requests).to.include("wallet_switchEthereumChain");
      await banner.waitFor({ state: "detached" });
      const problem = other.getByTestId("quote-problem");
      await problem.waitFor();
      // The ticket shows the SDK quote's own balance issue for this wallet (the ticket's defaults).
      const q = await (await sys.client(ACCOUNTS.empty)).quoteOpen({ market: 0, side: "long", collateral: 100n * USDC, leverage: 5n * WAD });
      expect(q.ok).to.equal(false);
      expect(q.issues[0]).to.be.instanceOf(InsufficientBalanceError);
      expect(await problem.innerText()).to.equal(q.issues[0]!.message).and.to.match(/^needs [\d.]+ USDC more in the wallet: balance 0, needed [\d.]+$/);
      expect(await other.getByTestId("ticket-open").isDisabled()).to.equal(true);
      expect(w.requests).to.not.include("eth_sendTransaction");
    } finally {
      await context.close();
    }
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
});

async function screenshot(page: Page, name: string) {
  if (SCREENSHOTS) await page.screenshot({ path: path.join(ROOT, "docs", `app-${name}.png`), fullPage: true });
}
