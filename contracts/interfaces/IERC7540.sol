// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

/// @title IERC7575
/// @notice The share token of an ERC-7575 vault (ERC-7540 requires it); Bulkhead's pool is its own share.
interface IERC7575 {
    /// @notice The ERC-20 share token of the vault.
    function share() external view returns (address);
}

/// @title IERC7540Operator
/// @notice ERC-7540 operators: an account lets another manage its requests and claims.
interface IERC7540Operator {
    /// @notice `controller` set `operator`'s approval to `approved`.
    event OperatorSet(address indexed controller, address indexed operator, bool approved);

    /// @notice Grants or revokes `operator`'s right to manage the caller's requests and claims.
    /// @return success Always true.
    function setOperator(address operator, bool approved) external returns (bool success);
    /// @notice Whether `operator` may manage `controller`'s requests and claims.
    function isOperator(address controller, address operator) external view returns (bool status);
}

/// @title IERC7540Deposit
/// @notice ERC-7540 asynchronous deposits: request, then claim with `deposit`/`mint`.
interface IERC7540Deposit {
    /// @notice `owner` escrowed `assets` for deposit request `requestId`, controlled by `controller`.
    event DepositRequest(
        address indexed controller, address indexed owner, uint256 indexed requestId, address sender, uint256 assets
    );

    /// @notice Escrows `assets` of `owner` for a deposit that `controller` claims once executed.
    function requestDeposit(uint256 assets, address controller, address owner) external payable returns (uint256 requestId);
    /// @notice The assets of request `requestId` of `controller` still pending.
    function pendingDepositRequest(uint256 requestId, address controller) external view returns (uint256 assets);
    /// @notice The assets of request `requestId` of `controller` executed and not yet claimed.
    function claimableDepositRequest(uint256 requestId, address controller) external view returns (uint256 assets);
    /// @notice Claims the shares of `assets` of `controller`'s claimable deposits for `receiver`.
    function deposit(uint256 assets, address receiver, address controller) external returns (uint256 shares);
    /// @notice Claims `shares` of `controller`'s claimable deposits for `receiver`.
    function mint(uint256 shares, address receiver, address controller) external returns (uint256 assets);
}

/// @title IERC7540Redeem
/// @notice ERC-7540 asynchronous redemptions: request, then claim with `redeem`/`withdraw`.
interface IERC7540Redeem {
    /// @notice `sender` escrowed `shares` of `owner` for redeem request `requestId`, controlled by `controller`.
    event RedeemRequest(
        address indexed controller, address indexed owner, uint256 indexed requestId, address sender, uint256 shares
    );

    /// @notice Escrows `shares` of `owner` for a redemption that `controller` claims once executed.
    function requestRedeem(uint256 shares, address controller, address owner) external payable returns (uint256 requestId);
    /// @notice The shares of request `requestId` of `controller` still pending.
    function pendingRedeemRequest(uint256 requestId, address controller) external view returns (uint256 shares);
    /// @notice The shares of request `requestId` of `controller` executed and not yet claimed.
    function claimableRedeemRequest(uint256 requestId, address controller) external view returns (uint256 shares);
}
