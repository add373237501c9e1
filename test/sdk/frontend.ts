// What a front-end needs of the SDK around transactions, on Hardhat's in-process network through
// an EIP-1193 provider, as a wallet gives one: the wallet balance in quotes and checked before any
// approval, typed errors for a rejected signature, a switched network and an address without
// code, the unsigned transactions of an action (for wagmi/viem, a Safe, wallet_sendCalls), the
// onSubmitted hook and a public approve, field-naming validation of form input, and JSON of SDK
// objects that survives bigints.
import { expect } from "chai";
import { network } from "hardhat";
import { BrowserProvider, Interface, type Eip1193Provider } from "ethers";
import {
  BulkheadClient,
  CollateralTooLowError,
  InsufficientBalanceError,
  InvalidInputError,
  InvalidOrderError,
  NoContractError,
  SizeDeltaTooLargeError,
  UnknownChainError,
  UserRejectedError,
  WrongNetworkError,
  erc20Abi,
  fromJSON,
  jsonReplacer,
  jsonReviver,
  parse,
  stringify,
  toJSON,
  walletError,
  type SubmittedInfo,
} from "../../sdk/src/index.js";
import { ETH_MARKET, USDC, WAD } from "../helpers/fixture.js";
import { deployOrderSystem } from "../helpers/orders.js";
import { deployForSdk, expectRejection } from "./helpers/system.js";

const ETH = Number(ETH_MARKET);
const connection = await network.connect();
const { ethers } = connection;
type Sys = Awaited<ReturnType<typeof deployForSdk>>;
type Request = { method: string; params?: unknown[] | Record<string, unknown> };

/**
 * An injected wallet over the in-process node: it forwards every request, counts them by method,
 * can reject signatures as a user would (EIP-1193 error 4001), and can report another chain (a
 * user who switched networks).
 */
class TestWallet implements Eip1193Provider {
  readonly byMethod = new Map<string, number>();
  rejectSignatures = false;
  chainId: number | undefined;
  /** Simulations of an approve to a non-zero amount revert, as USDT's do while the allowance is not zero. */
  refuseApprovalChanges = false;

  async request(args: Request): Promise<unknown> {
    this.byMethod.set(args.method, (this.byMethod.get(args.method) ?? 0) + 1);
    if (args.method === "eth_chainId" && this.chainId !== undefined) return `0x${this.chainId.toString(16)}`;
    const call = (args.params as { data?: string }[] | undefined)?.[0];
    if (args.method === "eth_call" && this.refuseApprovalChanges && call?.data?.startsWith("0x095ea7b3") && BigInt(`0x${call.data.slice(74)}`) !== 0n) {
      throw Object.assign(new Error("execution reverted"), { code: 3, data: "0x" });
    }
    if (args.method === "eth_sendTransaction" && this.rejectSignatures) throw Object.assign(new Error("User rejected the request."), { code: 4001 });
    return connection.provider.request(args as never);
  }

  sent(): number {
    return this.byMethod.get("eth_sendTransaction") ?? 0;
  }
}

const ZERO_BALANCE_INDEX = 12; // a Hardhat account the fixture never funds

describe("sdk for front-ends (in-process network, EIP-1193 wallet)", function () {
  this.timeout(120_000);
  let sys: Sys;

  beforeEach(async () => {
    sys = await deployForSdk(ethers);
  });

  /** A client through an injected wallet for Hardhat account `index`. */
  async function walletClient(index: number, opts: { fund?: bigint; staticNetwork?: boolean } = {}) {
    const account = (await ethers.getSigners())[index]!;
    if (opts.fund) await (await sys.token.faucet(account.address, opts.fund)).wait();
    const wallet = new TestWallet();
    const provider = new BrowserProvider(wallet, undefined, { cacheTimeout: -1, ...(opts.staticNetwork ? { staticNetwork: true } : {}) });
    const client = await BulkheadClient.connect(await provider.getSigner(account.address), { addresses: sys.addresses });
    return { account, wallet, provider, client };
  }

  // ---------------------------------------------------------------- balance

  it("test_zeroBalanceWallet_quotesSayWhy_andOpenSignsNothing", async () => {
    const { account, wallet, client } = await walletClient(ZERO_BALANCE_INDEX);
    expect(await sys.token.balanceOf(account.address)).to.equal(0n);
    const message = "needs 100.5 USDC more in the wallet: balance 0, needed 100.5"; // 100 collateral + 0.1% of 500 notional

    const quote = await client.quoteOpen({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD });
    expect(quote.balance).to.equal(0n);
    expect(quote.requiredBalance).to.equal(100n * USDC + quote.openFee);
    expect(quote.ok).to.equal(false);
    expect(quote.issues).to.have.length(1);
    expect(quote.issues[0]).to.be.instanceOf(InsufficientBalanceError);
    expect(quote.issues[0]!.message).to.equal(message);

    const nonce = await ethers.provider.getTransactionCount(account.address);
    const e = await expectRejection(client.open({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD }), InsufficientBalanceError, message);
    expect(e.args).to.deep.equal({ sender: account.address, balance: 0n, needed: 100n * USDC + quote.openFee });
    await expectRejection(client.prepareOpen({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD }), InsufficientBalanceError, message);
    await expectRejection(client.deposit({ assets: 10n * USDC }), InsufficientBalanceError, "needs 10 USDC more in the wallet: balance 0, needed 10");
    expect(wallet.sent()).to.equal(0); // no approval was asked for
    expect(await ethers.provider.getTransactionCount(account.address)).to.equal(nonce);
    expect(await sys.token.allowance(account.address, sys.addresses.engine)).to.equal(0n);

    const lp = await client.quoteDeposit({ assets: 10n * USDC });
    expect([lp.balance, lp.requiredBalance, lp.ok]).to.deep.equal([0n, 10n * USDC, false]);
    expect(lp.issues[0]).to.be.instanceOf(InsufficientBalanceError);
    expect(lp.shares).to.equal(await sys.pool.previewDeposit(10n * USDC));
  });

  it("test_quotesThatPull_carryTheBalance_andTopUpsCheckItFirst", async () => {
    const { account, wallet, client } = await walletClient(ZERO_BALANCE_INDEX, { fund: 200n * USDC });
    const { id } = await client.open({ market: ETH, side: "long", collateral: 150n * USDC, leverage: 2n * WAD });
    const left = await sys.token.balanceOf(account.address);
    expect(left).to.equal(200n * USDC - 150n * USDC - 300_000n); // 0.1% of 300 USDC notional

    const add = await client.quoteAddCollateral({ id, amount: 60n * USDC });
    expect([add.balance, add.requiredBalance, add.ok]).to.deep.equal([left, 60n * USDC, false]);
    const inc = await client.quoteIncrease({ id, sizeDelta: WAD / 100n, collateralDelta: 10n * USDC });
    expect([inc.balance, inc.ok, inc.requiredBalance]).to.deep.equal([left, true, 10n * USDC + inc.openFee]);
    const dec = await client.quoteDecrease({ id, sizeDelta: WAD / 100n });
    expect([dec.balance, dec.requiredBalance]).to.deep.equal([null, 0n]); // nothing is pulled

    const sent = wallet.sent();
    await expectRejection(client.addCollateral({ id, amount: 60n * USDC }), InsufficientBalanceError, /needs 10\.3 USDC more in the wallet: balance 49\.7, needed 60/);
    expect(wallet.sent()).to.equal(sent);
    await client.addCollateral({ id, amount: 40n * USDC }); // approves, then tops up
    expect(wallet.sent()).to.equal(sent + 2);
  });

  it("test_requestsAndOrdersThatEscrow_checkTheBalanceBeforeAnyApproval", async () => {
    const s = await deployOrderSystem(ethers);
    const addresses = { engine: await s.engine.getAddress(), lens: await s.lens.getAddress(), startBlock: 0 };
    const account = (await ethers.getSigners())[ZERO_BALANCE_INDEX]!;
    const wallet = new TestWallet();
    const signer = await new BrowserProvider(wallet, undefined, { cacheTimeout: -1 }).getSigner(account.address);
    const client = await BulkheadClient.connect(signer, { addresses });
    const router = (await client.getRequestRouter())!;
    const req = { market: ETH, side: "long" as const, amount: 1_000n * USDC, size: WAD };

    const q = await client.quoteRequestOpen(req);
    expect([q.balance, q.ok]).to.deep.equal([0n, false]);
    expect(q.issues[0]).to.be.instanceOf(InsufficientBalanceError);
    const message = "needs 1000 USDC more in the wallet: balance 0, needed 1000";
    expect(q.issues[0]!.message).to.equal(message);
    await expectRejection(client.requestOpen(req), InsufficientBalanceError, message);
    await expectRejection(client.placeLimitOpen({ ...req, amount: 50n * USDC, limitPrice: 2_900n * WAD }), InsufficientBalanceError, "needs 50 USDC more in the wallet: balance 0, needed 50");
    const lpq = await client.quoteLpRequest({ kind: "Deposit", amount: 20n * USDC });
    expect([lpq.balance, lpq.ok, lpq.issues[0]?.message]).to.deep.equal([0n, false, "needs 20 USDC more in the wallet: balance 0, needed 20"]);
    await expectRejection(client.requestDeposit({ assets: 20n * USDC }), InsufficientBalanceError, "needs 20 USDC more in the wallet: balance 0, needed 20");
    expect(wallet.sent()).to.equal(0);

    // Funded: the approval of the router, then the request with its execution fee as value.
    await (await s.token.faucet(account.address, 1_000n * USDC)).wait();
    const p = await client.prepareRequestOpen(req);
    expect(p.quote.ok).to.equal(true);
    expect(p.transactions.map((t) => [t.kind, t.to, t.value])).to.deep.equal([
      ["approval", await s.token.getAddress(), 0n],
      ["call", router, p.quote.executionFee.fee],
    ]);
    expect(new Interface(erc20Abi).decodeFunctionData("approve", p.transactions[0]!.data)).to.deep.equal([router, 1_000n * USDC]);
    expect(p.quote.executionFee.fee).to.be.greaterThan(0n);

    // Order placements: the book's approval for the escrow, then the placement with its fee.
    const book = (await client.getOrderBook())!;
    const limit = { ...req, amount: 50n * USDC, limitPrice: 2_900n * WAD };
    const lp = await client.preparePlaceLimitOpen(limit);
    expect(lp.transactions.map((t) => [t.kind, t.to, t.value])).to.deep.equal([
      ["approval", await s.token.getAddress(), 0n],
      ["call", book, lp.executionFee.fee],
    ]);
    expect(wallet.sent()).to.equal(0);
    const placed = await client.placeLimitOpen(limit);
    const sl = await client.preparePlaceStopLoss({ limitOrderId: placed.orderId, triggerPrice: 2_500n * WAD });
    expect(sl.transactions.map((t) => [t.kind, t.to, t.value])).to.deep.equal([["call", book, sl.executionFee.fee]]);
    expect(sl.simulated).to.equal(true);
    await expectRejection(client.preparePlaceStopLoss({ limitOrderId: placed.orderId, triggerPrice: 3_500n * WAD }), InvalidOrderError, /^trigger: a long's StopLoss must be below the current price/);
  });

  // ---------------------------------------------------------------- wallet and network errors

  it("test_rejectedSignature_isUserRejectedError", async () => {
    const { account, wallet, client } = await walletClient(ZERO_BALANCE_INDEX, { fund: 1_000n * USDC });
    wallet.rejectSignatures = true;
    const nonce = await ethers.provider.getTransactionCount(account.address);
    const e = await expectRejection(client.open({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD }), UserRejectedError, "you rejected the transaction in your wallet");
    expect(e.cause).to.not.equal(undefined);
    await expectRejection(client.approve({ amount: 1n }), UserRejectedError, "you rejected the transaction in your wallet");
    expect(await ethers.provider.getTransactionCount(account.address)).to.equal(nonce);
    // The shapes wallets and libraries reject with: raw EIP-1193, ethers' ACTION_REJECTED, wrapped.
    for (const raw of [{ code: 4001, message: "User rejected the request." }, { code: "ACTION_REJECTED", info: { payload: { params: [{ data: "0x12345678" }] } } }, { error: { code: 4001 } }]) {
      expect(walletError(raw)).to.be.instanceOf(UserRejectedError);
      expect(client.toError(raw)).to.be.instanceOf(UserRejectedError);
    }
  });

  it("test_walletSwitchedChain_isWrongNetworkError_forReadsQuotesAndTransactions", async () => {
    const sentence = "the wallet is on chain 1 (mainnet) but this client is connected to chain 31337 (a local Hardhat or anvil chain): switch the wallet to chain 31337, or connect a new client";
    // A wallet provider that follows the network (ethers' default): ethers itself notices.
    const dynamic = await walletClient(ZERO_BALANCE_INDEX, { fund: 1_000n * USDC });
    dynamic.wallet.chainId = 1;
    await expectRejection(dynamic.client.quoteOpen({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD }), WrongNetworkError, sentence);
    const e = await expectRejection(dynamic.client.open({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD }), WrongNetworkError, sentence);
    expect([e.expectedChainId, e.actualChainId]).to.deep.equal([31337, 1]);
    expect(walletError(new Error("network changed: 31337 => 1 (event=\"changed\", code=NETWORK_ERROR)"), 31337)).to.be.instanceOf(WrongNetworkError);
    // A static-network provider never asks again: the SDK asks before every transaction.
    const pinned = await walletClient(ZERO_BALANCE_INDEX + 1, { fund: 1_000n * USDC, staticNetwork: true });
    const { id } = await pinned.client.open({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD });
    pinned.wallet.chainId = 42161;
    const sent = pinned.wallet.sent();
    await expectRejection(pinned.client.addCollateral({ id, amount: 1n * USDC }), WrongNetworkError, /the wallet is on chain 42161 \(arbitrum\) but this client is connected to chain 31337/);
    await expectRejection(pinned.client.prepareClose({ id }), WrongNetworkError);
    expect(pinned.wallet.sent()).to.equal(sent);
  });

  it("test_connect_addressWithoutCode_isNoContractError_namingIt", async () => {
    const empty = "0x000000000000000000000000000000000000dEaD";
    const chain = "chain 31337 (a local Hardhat or anvil chain)";
    const engine = await expectRejection(BulkheadClient.connect(ethers.provider, { addresses: { ...sys.addresses, engine: empty } }), NoContractError, `no contract at ${empty} (the engine) on ${chain}: check the addresses passed to connect()`);
    expect([engine.contract, engine.address, engine.chainId]).to.deep.equal(["engine", empty, 31337]);
    await expectRejection(BulkheadClient.connect(ethers.provider, { addresses: { ...sys.addresses, lens: empty } }), NoContractError, `no contract at ${empty} (the lens) on ${chain}: check the addresses passed to connect()`);
    await expectRejection(BulkheadClient.connect(ethers.provider, { addresses: { ...sys.addresses, token: empty } }), NoContractError, `no contract at ${empty} (the token) on ${chain}: check the addresses passed to connect()`);
    // A later read of an empty address ("could not decode result data") is typed too, and names
    // the contract when one of the deployment's has lost its code (a node reset since connect).
    expect(walletError({ code: "BAD_DATA", value: "0x", message: "could not decode result data" }, 31337)).to.be.instanceOf(NoContractError);
    const client = await BulkheadClient.connect(ethers.provider, { addresses: sys.addresses });
    const { id } = await (await BulkheadClient.connect(sys.signers.alice, { addresses: sys.addresses })).open({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 2n * WAD });
    await connection.provider.request({ method: "hardhat_setCode", params: [sys.addresses.lens, "0x"] });
    await expectRejection(client.getMaxRemovableCollateral(id), NoContractError, `no contract at ${sys.addresses.lens} (the lens) on ${chain}: check the addresses passed to connect()`);
  });

  it("test_connect_unknownChainWithoutAddresses_saysToPassThem", async () => {
    const wallet = new TestWallet();
    wallet.chainId = 999;
    const provider = new BrowserProvider(wallet, undefined, { staticNetwork: true });
    await expectRejection(BulkheadClient.connect(provider), UnknownChainError, /^no Bulkhead deployment is known for chain id 999; known chain ids: .*: pass `addresses` \(engine, lens\) to BulkheadClient\.connect\(\), or registerDeployment\(\) first$/);
  });

  // ---------------------------------------------------------------- transaction lifecycle

  it("test_prepare_returnsApprovalThenCall_thatAnyWalletCanSend", async () => {
    const { account, wallet, client } = await walletClient(ZERO_BALANCE_INDEX, { fund: 1_000n * USDC });
    const nonce = await ethers.provider.getTransactionCount(account.address);
    const req = { market: ETH, side: "long" as const, collateral: 100n * USDC, leverage: 5n * WAD };
    const p = await client.prepareOpen(req);
    expect(p.transactions.map((t) => t.kind)).to.deep.equal(["approval", "call"]);
    expect(p.simulated).to.equal(false);
    const [approval, call] = p.transactions as [(typeof p.transactions)[0], (typeof p.transactions)[0]];
    expect(approval.to).to.equal(sys.addresses.token);
    expect(new Interface(erc20Abi).decodeFunctionData("approve", approval.data)).to.deep.equal([sys.addresses.engine, p.quote.requiredAllowance]);
    expect([approval.value, call.value]).to.deep.equal([0n, 0n]);
    expect(call.to).to.equal(sys.addresses.engine);
    expect(call.description).to.equal("open on the engine");
    expect(sys.engine.interface.parseTransaction({ data: call.data })!.name).to.equal("open");
    expect(await ethers.provider.getTransactionCount(account.address)).to.equal(nonce); // nothing signed
    expect(wallet.sent()).to.equal(0);

    // Sent as they are by another wallet library (here: the raw signer), they open the position.
    const signer = await ethers.getSigner(account.address);
    for (const tx of p.transactions) await (await signer.sendTransaction({ to: tx.to, data: tx.data, value: tx.value })).wait();
    const [id] = await client.getOpenPositionIds();
    expect((await client.getPosition(id!))!.position.collateral).to.equal(100n * USDC);

    // With the allowance in place the list is the call alone, simulated and estimated.
    await client.approve({ amount: 10n ** 12n });
    const again = await client.prepareOpen(req);
    expect(again.transactions.map((t) => t.kind)).to.deep.equal(["call"]);
    expect([again.simulated, again.transactions[0]!.gasLimit! > 100_000n]).to.deep.equal([true, true]);
    const own = await client.prepareAddCollateral({ id: id!, amount: 1n * USDC, gasLimit: 400_000n });
    expect(own.transactions[0]!.gasLimit).to.equal(400_000n);

    // A revert is the typed error, before anything is signed.
    const size = (await client.getPosition(id!))!.position.size;
    await expectRejection(client.prepareDecrease({ id: id!, sizeDelta: size }), SizeDeltaTooLargeError);
    await expectRejection(client.prepareRemoveCollateral({ id: id!, amount: 101n * USDC }), CollateralTooLowError, "cannot remove 101 USDC: the position holds 100 USDC");
    expect((await client.prepareClose({ id: id! })).transactions).to.have.length(1);
    expect((await client.prepareIncrease({ id: id!, sizeDelta: WAD / 100n })).quote.ok).to.equal(true);

    // LP: deposit needs the pool's allowance first; a withdrawal needs none.
    const dep = await client.prepareDeposit({ assets: 50n * USDC });
    expect(dep.transactions.map((t) => [t.kind, t.to])).to.deep.equal([["approval", sys.addresses.token], ["call", sys.addresses.pool]]);
    await client.deposit({ assets: 50n * USDC });
    const w = await client.prepareWithdraw({ assets: 1n * USDC });
    expect(w.transactions.map((t) => [t.kind, t.to, t.description])).to.deep.equal([["call", sys.addresses.pool, "withdraw on the pool"]]);
    expect(wallet.byMethod.get("eth_sendTransaction")).to.equal(3); // approve (engine), approve (pool), deposit
  });

  it("test_prepare_tokenRefusingToChangeANonZeroAllowance_resetsItFirst", async () => {
    const { account, wallet, client } = await walletClient(ZERO_BALANCE_INDEX, { fund: 1_000n * USDC });
    await client.approve({ amount: 1n * USDC }); // from zero: no simulation, one approve
    expect(wallet.byMethod.get("eth_sendTransaction")).to.equal(1);
    wallet.refuseApprovalChanges = true;
    const p = await client.prepareOpen({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD });
    const erc20 = new Interface(erc20Abi);
    expect(p.transactions.map((t) => [t.kind, t.kind === "approval" ? erc20.decodeFunctionData("approve", t.data)[1] : null])).to.deep.equal([
      ["approval", 0n],
      ["approval", p.quote.requiredAllowance],
      ["call", null],
    ]);
    const opened = await client.open({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD });
    expect(opened.approvals).to.have.length(2);
    expect(await sys.token.allowance(account.address, sys.addresses.engine)).to.equal(p.quote.requiredAllowance - 100n * USDC - opened.event.openFee);
  });

  it("test_onSubmitted_getsEachHashBeforeItIsMined_approvalsFirst", async () => {
    const { client } = await walletClient(ZERO_BALANCE_INDEX, { fund: 1_000n * USDC });
    const submitted: { hash: string; info: SubmittedInfo }[] = [];
    const minedAtSubmit: Promise<boolean>[] = [];
    await connection.provider.request({ method: "evm_setAutomine", params: [false] });
    try {
      const opened = await client.open({
        market: ETH,
        side: "short",
        collateral: 100n * USDC,
        leverage: 5n * WAD,
        onSubmitted: (hash, info) => {
          submitted.push({ hash, info });
          // Asked before the block is mined: no receipt yet. Then the block is mined.
          minedAtSubmit.push(ethers.provider.getTransactionReceipt(hash).then(async (r) => {
            await connection.provider.request({ method: "evm_mine", params: [] });
            return r !== null;
          }));
        },
      });
      expect(await Promise.all(minedAtSubmit)).to.deep.equal([false, false]);
      expect(submitted.map((s) => s.hash)).to.deep.equal([opened.approvals[0]!.hash, opened.hash]);
      expect(submitted.map((s) => [s.info.kind, s.info.index, s.info.count])).to.deep.equal([["approval", 0, 2], ["call", 1, 2]]);
      expect(submitted[0]!.info.description).to.match(/^approve 100\.50\d* USDC for 0x/);
    } finally {
      await connection.provider.request({ method: "evm_setAutomine", params: [true] });
    }
  });

  it("test_approve_setsExactlyTheAmount_forTheEngineOrAnySpender", async () => {
    const { account, client } = await walletClient(ZERO_BALANCE_INDEX, { fund: 10n * USDC });
    const hashes: string[] = [];
    const r = await client.approve({ amount: 7n * USDC, onSubmitted: (h) => hashes.push(h) });
    expect(hashes).to.deep.equal([r.hash]);
    expect(await sys.token.allowance(account.address, sys.addresses.engine)).to.equal(7n * USDC);
    await client.approve({ spender: sys.addresses.pool!, amount: 3n * USDC });
    expect(await sys.token.allowance(account.address, sys.addresses.pool!)).to.equal(3n * USDC);
    await client.approve({ amount: 0n });
    expect(await sys.token.allowance(account.address, sys.addresses.engine)).to.equal(0n);
    await expectRejection(client.approve({ spender: "engine", amount: 1n }), InvalidInputError, 'spender: must be an address (0x and 40 hex digits), got the string "engine"');
  });

  // ---------------------------------------------------------------- input from forms

  it("test_validation_namesTheFieldAndTheUnit", async () => {
    const { wallet, client } = await walletClient(ZERO_BALANCE_INDEX, { fund: 1_000n * USDC });
    const base = { market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD } as const;
    const field = async (p: Promise<unknown>, name: string, message: string) => {
      const e = await expectRejection(p, InvalidInputError, `${name}: ${message}`);
      expect(e.field).to.equal(name);
    };
    await field(client.quoteOpen({ ...base, side: "LONG" as never }), "side", 'must be "long" or "short" (lower case), got the string "LONG"');
    await field(client.open({ ...base, side: "LONG" as never }), "side", 'must be "long" or "short" (lower case), got the string "LONG"');
    await field(client.quoteOpen({ ...base, collateral: "100" as never }), "collateral", 'must be a bigint in token units (USDC has 6 decimals: 100 USDC is 100000000n, or parseUnits("100", 6)), got the string "100"');
    await field(client.quoteOpen({ ...base, leverage: 5n }), "leverage", "leverage is 18-decimal: 5x is 5n * 10n**18n (got 5n, which is 5e-18x)");
    await field(client.quoteOpen({ ...base, leverage: 5 as never }), "leverage", "must be a bigint with 18 decimals (5x is 5n * 10n**18n), got the number 5");
    await field(client.quoteOpen({ ...base, leverage: undefined, size: 3n }), "size", "size is 18-decimal, in units of the market's asset: 1.5 units is 15n * 10n**17n (got 3n, which is 3e-18 units)");
    await field(client.quoteOpen({ ...base, market: "0" as never }), "market", 'must be a market id, a number (0, 1, ...), got the string "0"');
    await field(client.open({ ...base, slippageBps: 0.5 }), "slippageBps", "must be a whole number of basis points in [0, 10000) (50 is 0.5%), got the number 0.5");
    await field(client.open({ ...base, collateral: -1n }), "collateral", "must not be negative, got -1n");
    await field(client.increase({ id: 1 as never, sizeDelta: WAD }), "id", "must be a bigint id (e.g. 1n), got the number 1");
    await field(client.addCollateral({ id: 1n, amount: "5" as never }), "amount", 'must be a bigint in token units (USDC has 6 decimals: 100 USDC is 100000000n, or parseUnits("100", 6)), got the string "5"');
    await field(client.deposit({ assets: 1.5 as never }), "assets", 'must be a bigint in token units (USDC has 6 decimals: 100 USDC is 100000000n, or parseUnits("100", 6)), got the number 1.5');
    await field(client.requestOpen({ market: ETH, side: "Short" as never, amount: 1n, size: WAD }), "side", 'must be "long" or "short" (lower case), got the string "Short"');
    await field(client.liquidateMany({ ids: [1n, "2" as never] }), "ids[1]", 'must be a bigint id (e.g. 1n), got the string "2"');
    await field(client.open({ ...base, approval: "all" as never }), "approval", 'must be "exact", "unlimited" or "none", got the string "all"');
    await field(client.placeLimitOpen({ market: ETH, side: "long", amount: 10n * USDC, size: WAD, limitPrice: 2_900n }), "limitPrice", "prices are 18-decimal: 3,000 is 3_000n * 10n**18n (got 2900n, which is 2.9e-15)");
    expect(new InvalidOrderError("trigger", "x")).to.be.instanceOf(InvalidInputError); // one validation class
    expect(wallet.sent()).to.equal(0);
  });

  // ---------------------------------------------------------------- JSON

  it("test_json_roundTripsPositionViewQuoteAndEvent", async () => {
    const { client } = await walletClient(ZERO_BALANCE_INDEX, { fund: 1_000n * USDC });
    const opened = await client.open({ market: ETH, side: "long", collateral: 300n * USDC, leverage: 10n * WAD });
    const view = (await client.getPosition(opened.id))!;
    const quote = await client.quoteOpen({ market: ETH, side: "short", collateral: 5_000n * USDC, leverage: 2n * WAD }); // more than the wallet holds
    const increase = await client.quoteIncrease({ id: opened.id, sizeDelta: WAD / 10n });
    expect(quote.issues[0]).to.be.instanceOf(InsufficientBalanceError);
    expect(Object.keys(increase)).to.include("revert"); // an undefined field, which plain JSON drops

    for (const value of [view, quote, increase, opened.event, { nested: [1n, -2n, null, undefined, "x"] }]) {
      const text = stringify(value);
      expect(() => JSON.parse(text)).to.not.throw();
      const back = parse<typeof value>(text);
      expect(back).to.deep.equal(value);
      expect(fromJSON(toJSON(value))).to.deep.equal(value);
      expect(JSON.parse(JSON.stringify(toJSON(value)))).to.deep.equal(toJSON(value)); // plain JSON data
    }
    const back = parse<typeof quote>(stringify(quote));
    expect(back.issues[0]).to.be.instanceOf(InsufficientBalanceError);
    expect(back.issues[0]!.args).to.deep.equal(quote.issues[0]!.args);
    expect(back.issues[0]!.message).to.equal(quote.issues[0]!.message);
    expect(typeof back.size).to.equal("bigint");
    // The replacer/reviver pair with JSON itself (undefined fields are dropped, as JSON does).
    expect(JSON.parse(JSON.stringify(opened.event, jsonReplacer), jsonReviver)).to.deep.equal(opened.event);
    expect(JSON.parse(JSON.stringify(view.health, jsonReplacer), jsonReviver)).to.deep.equal(view.health);
  });
});
