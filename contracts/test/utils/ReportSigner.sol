// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVerifierProxy, ReportV3} from "../../interfaces/IDataStreams.sol";
import {Vm} from "./Vm.sol";

/// @notice The part of Chainlink's llo-feeds `Verifier` a local oracle set configures. Declared here
/// because Chainlink's own interfaces pin `pragma solidity 0.8.19`.
interface IChainlinkVerifier {
    struct AddressAndWeight {
        address addr;
        uint64 weight;
    }

    /// @notice A signature is not by a configured signer, or a signer signed twice.
    error BadVerification();
    /// @notice Not exactly f + 1 signatures.
    error IncorrectSignatureCount(uint256 numSigners, uint256 expectedNumSigners);

    function setConfig(
        bytes32 feedId,
        address[] memory signers,
        bytes32[] memory offchainTransmitters,
        uint8 f,
        bytes memory onchainConfig,
        uint64 offchainConfigVersion,
        bytes memory offchainConfig,
        AddressAndWeight[] memory recipientAddressesAndWeights
    ) external;

    function latestConfigDetails(bytes32 feedId)
        external
        view
        returns (uint32 configCount, uint32 blockNumber, bytes32 configDigest);
}

/// @notice The part of Chainlink's llo-feeds `VerifierProxy` a local deployment initialises.
interface IChainlinkVerifierProxy {
    function initializeVerifier(address verifierAddress) external;
}

/// @notice A local oracle set in Solidity, as `scripts/streams/oracleSet.ts` is in TypeScript:
/// deploys Chainlink's real `VerifierProxy` and `Verifier` (their 0.8.19 creation code), configures
/// a stream per feed id with four deterministic keys (the TS set's keys, f = 1) and signs Data
/// Streams v3 reports exactly as the DON does, so Solidity tests verify through the real contracts.
/// @dev Signed payload: abi.encode(context, reportData, rs, ss, rawVs) with reportData =
/// abi.encode(ReportV3), context = [configDigest, epoch << 8 | round, 0], each oracle signing
/// keccak256(abi.encodePacked(keccak256(reportData), context)), and byte i of rawVs = v_i - 27.
contract ReportSigner {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint8 public constant F = 1;
    uint256 public constant ORACLES = 4;

    IVerifierProxy public immutable proxy;
    IChainlinkVerifier public immutable verifier;
    uint256[] internal _keys;
    mapping(bytes32 feedId => bytes32 configDigest) public digest;

    constructor() {
        proxy = IVerifierProxy(_create(abi.encodePacked(vm.getCode("VerifierProxy.sol:VerifierProxy"), abi.encode(address(0)))));
        verifier = IChainlinkVerifier(_create(abi.encodePacked(vm.getCode("Verifier.sol:Verifier"), abi.encode(proxy))));
        IChainlinkVerifierProxy(address(proxy)).initializeVerifier(address(verifier));
        for (uint256 i; i < ORACLES; ++i) {
            _keys.push(uint256(keccak256(bytes(string.concat("bulkhead local oracle ", vm.toString(i))))));
        }
    }

    /// @notice Lets the set sign for `feedId` (a v3 id) and returns the config digest it signs under.
    function configure(bytes32 feedId) external returns (bytes32 configDigest) {
        address[] memory signers = new address[](ORACLES);
        bytes32[] memory transmitters = new bytes32[](ORACLES);
        for (uint256 i; i < ORACLES; ++i) {
            signers[i] = vm.addr(_keys[i]);
            transmitters[i] = keccak256(abi.encode(signers[i]));
        }
        verifier.setConfig(feedId, signers, transmitters, F, "", 1, "", new IChainlinkVerifier.AddressAndWeight[](0));
        (,, configDigest) = verifier.latestConfigDetails(feedId);
        digest[feedId] = configDigest;
    }

    /// @notice The report of `feedId` observed at second `t` (validFrom = observations = t, as the
    /// local report service makes them), valid for an hour.
    function report(bytes32 feedId, uint256 t, uint256 price, uint256 bid, uint256 ask)
        external
        pure
        returns (ReportV3 memory)
    {
        return ReportV3({
            feedId: feedId,
            validFromTimestamp: uint32(t),
            observationsTimestamp: uint32(t),
            nativeFee: 0,
            linkFee: 0,
            expiresAt: uint32(t + 3600),
            price: int192(int256(price)),
            bid: int192(int256(bid)),
            ask: int192(int256(ask))
        });
    }

    /// @notice `r` signed by the first f + 1 oracles, under its feed's config digest.
    function sign(ReportV3 memory r) external view returns (bytes memory) {
        uint256[] memory keys = new uint256[](F + 1);
        for (uint256 i; i <= F; ++i) {
            keys[i] = _keys[i];
        }
        return signWith(r, keys);
    }

    /// @notice `r` signed by `keys` (any keys: a stranger's, too few, too many) under its feed's digest.
    function signWith(ReportV3 memory r, uint256[] memory keys) public view returns (bytes memory) {
        bytes memory reportData = abi.encode(r);
        bytes32[3] memory context = [digest[r.feedId], bytes32(uint256(r.observationsTimestamp) << 8), bytes32(0)];
        bytes32 h = keccak256(abi.encodePacked(keccak256(reportData), context));
        bytes32[] memory rs = new bytes32[](keys.length);
        bytes32[] memory ss = new bytes32[](keys.length);
        uint256 rawVs;
        for (uint256 i; i < keys.length; ++i) {
            uint8 v;
            (v, rs[i], ss[i]) = vm.sign(keys[i], h);
            rawVs |= uint256(v - 27) << (8 * (31 - i));
        }
        return abi.encode(context, reportData, rs, ss, bytes32(rawVs));
    }

    /// @notice Oracle `i`'s signing key.
    function key(uint256 i) external view returns (uint256) {
        return _keys[i];
    }

    function _create(bytes memory code) internal returns (address deployed) {
        assembly ("memory-safe") {
            deployed := create(0, add(code, 32), mload(code))
        }
        require(deployed != address(0), "ReportSigner: deployment failed");
    }
}
