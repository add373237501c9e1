// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only token that skims 1% of every transfer (fee-on-transfer behaviour). The skim
/// can be switched off so a test can open a position first and then turn the fee on (a token
/// that adds a fee by upgrade).
contract FeeOnTransferToken is ERC20 {
    bool public feeOff;

    constructor() ERC20("Fee Token", "FEE") {}

    function setFeeOff(bool off) external {
        feeOff = off;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (feeOff || from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, address(0xdead), fee);
        super._update(from, to, value - fee);
    }
}

/// @notice Test-only token with a blacklist (like USDC): transfers from or to a listed address revert.
contract BlacklistToken is ERC20 {
    error Blacklisted(address account);

    mapping(address => bool) public blacklisted;

    constructor() ERC20("Blacklist USD", "BUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlacklisted(address account, bool value) external {
        blacklisted[account] = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blacklisted[from]) revert Blacklisted(from);
        if (blacklisted[to]) revert Blacklisted(to);
        super._update(from, to, value);
    }
}

/// @notice Test-only token that calls back into a target during every transfer, to prove the
/// engine's reentrancy guard: the callback's revert reason is recorded.
contract ReentrantToken is ERC20 {
    /// @dev Named `hookTarget`, not `target`: ethers contracts already use `target` for their address.
    address public hookTarget;
    bytes public callData;
    bool public lastCallSucceeded;
    bytes public lastRevertData;

    constructor() ERC20("Reentrant USD", "RUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata callData_) external {
        hookTarget = target_;
        callData = callData_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address t = hookTarget;
        if (t != address(0) && from != address(0)) {
            hookTarget = address(0);
            (lastCallSucceeded, lastRevertData) = t.call(callData);
        }
    }
}

/// @notice Test-only price feed whose latestRoundData reverts (a broken or deprecated feed).
contract RevertingAggregator {
    function decimals() external pure returns (uint8) {
        return 8;
    }

    function latestRoundData() external pure returns (uint80, int256, uint256, uint256, uint80) {
        revert("feed down");
    }
}

/// @notice Test-only price feed that answers `latestRoundData` with raw bytes of its choice: a
/// short answer, a full-length answer whose words do not fit the declared types (garbage), or a
/// valid answer followed by `padding` more bytes (huge returndata).
contract MalformedAggregator {
    bytes internal _answer;
    uint256 public padding;

    function decimals() external pure returns (uint8) {
        return 8;
    }

    /// @notice The exact bytes `latestRoundData` returns (before the padding).
    function setAnswer(bytes calldata answer) external {
        _answer = answer;
    }

    /// @notice Zero bytes appended to the answer.
    function setPadding(uint256 padding_) external {
        padding = padding_;
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        bytes memory out = bytes.concat(_answer, new bytes(padding));
        assembly ("memory-safe") {
            return(add(out, 32), mload(out))
        }
    }
}

/// @notice Test-only price feed whose `latestRoundData` burns all the gas it is given (an
/// endless loop), or reverts with `revertSize` bytes of revert data when that is set.
contract GasBurnerAggregator {
    uint256 public revertSize;

    function decimals() external pure returns (uint8) {
        return 8;
    }

    function setRevertSize(uint256 revertSize_) external {
        revertSize = revertSize_;
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        uint256 n = revertSize;
        if (n != 0) {
            bytes memory out = new bytes(n);
            assembly ("memory-safe") {
                revert(add(out, 32), n)
            }
        }
        uint256 x;
        for (uint256 i; i < type(uint256).max; ++i) {
            x = uint256(keccak256(abi.encode(x, i)));
        }
        return (0, int256(x), 0, 0, 0);
    }
}

/// @notice Test-only Data Streams fee manager that quotes a LINK fee and then charges nothing
/// (a replacement fee manager whose pull differs from its quote): what a subscriber approved for
/// it must not stay approved. Passes the VerifierProxy's `setFeeManager` interface check.
contract UnderchargingFeeManager {
    struct Asset {
        address assetAddress;
        uint256 amount;
    }

    address public immutable i_linkAddress;
    address public immutable i_rewardManager;
    uint256 public immutable quotedFee;

    constructor(address link, address rewardManager, uint256 fee) {
        i_linkAddress = link;
        i_rewardManager = rewardManager;
        quotedFee = fee;
    }

    function supportsInterface(bytes4) external pure returns (bool) {
        return true;
    }

    function getFeeAndReward(address, bytes memory, address)
        external
        view
        returns (Asset memory fee, Asset memory reward, uint256 appliedDiscount)
    {
        fee = Asset(i_linkAddress, quotedFee);
        reward = fee;
        appliedDiscount = 0;
    }

    function processFee(bytes calldata, bytes calldata, address) external payable {}

    function processFeeBulk(bytes[] calldata, bytes calldata, address) external payable {}
}
