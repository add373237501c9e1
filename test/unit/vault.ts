import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { deployUnitSystem, expectPoolConserved, posOf } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);

async function withLong() {
  const s = await deployUnitSystem(ethers);
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  return s;
}

/** EIP-1167 minimal proxy: creation code and runtime code for `impl`. */
const eip1167 = (impl: string) => {
  const a = impl.toLowerCase().slice(2);
  return {
    init: `0x3d602d80600a3d3981f3363d3d373d3d3d363d73${a}5af43d82803e903d91602b57fd5bf3`,
    runtime: `0x363d3d373d3d3d363d73${a}5af43d82803e903d91602b57fd5bf3`,
  };
};

describe("vault", () => {
  it("vaultOf: is the CREATE2 address of an EIP-1167 clone salted with the id, known before open", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const impl = await s.engine.vaultImplementation();
    const { init, runtime } = eip1167(impl);
    for (const id of [1n, 2n, 12345n]) {
      const expected = ethers.getCreate2Address(await s.engine.getAddress(), ethers.toBeHex(id, 32), ethers.keccak256(init));
      expect(await s.engine.vaultOf(id)).to.equal(expected);
    }
    expect((await ethers.provider.getCode(await s.engine.vaultOf(1n))).toLowerCase()).to.equal(runtime);
    expect(await ethers.provider.getCode(await s.engine.vaultOf(2n))).to.equal("0x");
    await s.engine.connect(s.signers.bob).open(ETH_MARKET, false, 300n * USDC, WAD, 0n, FAR);
    expect((await ethers.provider.getCode(await s.engine.vaultOf(2n))).toLowerCase()).to.equal(runtime);
  });

  it("vault: a clone reads the implementation's engine and token", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const vault = await ethers.getContractAt("PositionVault", await s.engine.vaultOf(1n));
    expect(await vault.engine()).to.equal(await s.engine.getAddress());
    expect(await vault.token()).to.equal(await s.token.getAddress());
  });

  it("vault: transfer reverts with VaultUnauthorized for anyone but the engine (owner, LP, deployer)", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const vault = await ethers.getContractAt("PositionVault", await s.engine.vaultOf(1n));
    for (const caller of [s.signers.alice, s.signers.lp, s.signers.deployer]) {
      await expect(vault.connect(caller).transfer(caller, 1n))
        .to.be.revertedWithCustomError(vault, "VaultUnauthorized")
        .withArgs(caller.address);
    }
    expect(await s.token.balanceOf(vault)).to.equal(300n * USDC);
  });

  it("vault: the implementation itself refuses transfers with VaultUnauthorized", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const impl = await ethers.getContractAt("PositionVault", await s.engine.vaultImplementation());
    await expect(impl.connect(s.signers.bob).transfer(s.signers.bob, 0n))
      .to.be.revertedWithCustomError(impl, "VaultUnauthorized")
      .withArgs(s.signers.bob.address);
  });

  it("vault: its balance equals the recorded collateral through every action, and is empty after close", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const { alice, bob } = s.signers;
    const vault = await s.engine.vaultOf(1n);
    const check = async () => {
      expect(await s.token.balanceOf(vault)).to.equal((await posOf(s.engine, 1n)).collateral);
      await expectPoolConserved(s);
    };
    await check();
    await networkHelpers.time.increase(1_000n);
    await s.engine.connect(alice).increase(1n, 20n * USDC, WAD / 2n, ethers.MaxUint256, FAR);
    await check();
    await s.engine.connect(bob).addCollateral(1n, 3n * USDC);
    await check();
    await s.engine.connect(alice).removeCollateral(1n, 4n * USDC);
    await check();
    await networkHelpers.time.increase(1_000n);
    await s.engine.connect(alice).decrease(1n, WAD / 3n, 0n, FAR);
    await check();
    await s.engine.connect(alice).close(1n, 0n, FAR);
    expect(await s.token.balanceOf(vault)).to.equal(0n);
    await expectPoolConserved(s);
  });

  it("vault: a donation stays above the recorded collateral until close pays it out", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const { alice, carol } = s.signers;
    const vault = await s.engine.vaultOf(1n);
    await s.token.connect(carol).transfer(vault, 9n);
    await s.engine.connect(alice).addCollateral(1n, USDC);
    await s.engine.connect(alice).decrease(1n, WAD / 2n, 0n, FAR);
    expect(await s.token.balanceOf(vault)).to.equal((await posOf(s.engine, 1n)).collateral + 9n);
  });
});
