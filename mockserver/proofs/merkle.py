"""RFC 9162 Merkle tree (proofs.md §4): tree hash, inclusion and consistency proofs.

The hash is Keccak-256 by default; `TreeHasher` takes any 32-byte hash so that the SHA-256
reference values of RFC 6962 (proofs.md T.11) can check the tree code itself.

Two representations:

* the recursive reference functions (`mth`, `inclusion_path`, `consistency_proof`), which
  follow the RFC text line for line and hash every leaf on every call;
* stored levels (`build_levels`), for big checkpoint trees: level 0 is the concatenated leaf
  hashes, level k the concatenated hashes of the complete subtrees of 2^k leaves. Every
  perfect subtree the RFC recursion needs is then a slice, and only the incomplete right edge
  is hashed again, so a proof costs O(log² n) hashes instead of O(n).

Proof elements and roots are raw bytes here; hex belongs to the callers.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Sequence

from .primitives import keccak256, keccak_factory as _keccak_oneshot_factory

HashFn = Callable[[bytes], bytes]

_LEAF = b"\x00"
_NODE = b"\x01"


def _keccak_public() -> HashFn:
    """Keccak-256 through the public pycryptodome API (about 7 µs per call)."""
    from Crypto.Hash import keccak

    new = keccak.new

    def h(data: bytes) -> bytes:
        return new(data=data, digest_bits=256).digest()

    return h


def _largest_power_of_two_below(n: int) -> int:
    """k of RFC 9162: the largest power of two strictly less than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class TreeHasher:
    """The RFC 9162 algorithms over one hash function.

    `new_hash`, when given, returns a fresh (possibly faster, not thread-safe) hash function;
    methods that hash many times take one per call.
    """

    def __init__(self, hash_fn: HashFn, new_hash: Callable[[], HashFn] | None = None,
                 digest_size: int = 32) -> None:
        self.hash_fn = hash_fn
        self._new_hash = new_hash or (lambda: hash_fn)
        self.digest_size = digest_size

    # --- hashes -------------------------------------------------------------------------------

    def empty_root(self) -> bytes:
        """MTH({}) = H("")."""
        return self.hash_fn(b"")

    def leaf_hash(self, data: bytes) -> bytes:
        """H(00 ‖ data); data is a 32-byte fingerprint (any bytes for the T.11 vectors)."""
        return self.hash_fn(_LEAF + data)

    def node_hash(self, left: bytes, right: bytes) -> bytes:
        """H(01 ‖ left ‖ right)."""
        return self.hash_fn(_NODE + left + right)

    # --- recursive reference (RFC 9162 2.1.1, 2.1.3.1, 2.1.4.1) -------------------------------

    def mth(self, leaves: Sequence[bytes]) -> bytes:
        """Merkle Tree Hash of the leaves (fingerprints) in the given order."""
        if not leaves:
            return self.empty_root()
        h = self._new_hash()
        return self._mth([h(_LEAF + d) for d in leaves], h)

    def _mth(self, hashes: Sequence[bytes], h: HashFn) -> bytes:
        n = len(hashes)
        if n == 1:
            return hashes[0]
        k = _largest_power_of_two_below(n)
        return h(_NODE + self._mth(hashes[:k], h) + self._mth(hashes[k:], h))

    def inclusion_path(self, index: int, leaves: Sequence[bytes]) -> list[bytes]:
        """PATH(index, D[0:n]), leaf to root."""
        if not 0 <= index < len(leaves):
            raise ValueError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
        h = self._new_hash()
        return self._path(index, [h(_LEAF + d) for d in leaves], h)

    def _path(self, m: int, hashes: Sequence[bytes], h: HashFn) -> list[bytes]:
        n = len(hashes)
        if n == 1:
            return []
        k = _largest_power_of_two_below(n)
        if m < k:
            return self._path(m, hashes[:k], h) + [self._mth(hashes[k:], h)]
        return self._path(m - k, hashes[k:], h) + [self._mth(hashes[:k], h)]

    def consistency_proof(self, m: int, leaves: Sequence[bytes]) -> list[bytes]:
        """PROOF(m, D[0:n]); empty when m == 0 or m == n."""
        n = len(leaves)
        if not 0 <= m <= n:
            raise ValueError(f"first size {m} is outside 0..{n}")
        if m == 0 or m == n:
            return []
        h = self._new_hash()
        return self._subproof(m, [h(_LEAF + d) for d in leaves], True, h)

    def _subproof(self, m: int, hashes: Sequence[bytes], b: bool, h: HashFn) -> list[bytes]:
        n = len(hashes)
        if m == n:
            return [] if b else [self._mth(hashes, h)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return self._subproof(m, hashes[:k], b, h) + [self._mth(hashes[k:], h)]
        return self._subproof(m - k, hashes[k:], False, h) + [self._mth(hashes[:k], h)]

    # --- verification (RFC 9162 2.1.3.2, 2.1.4.2; proofs.md 4.3, 4.4) -------------------------

    def _sized_proof(self, proof: Sequence[bytes], *roots: bytes) -> bool:
        """Step 0: a list of digest-sized byte strings, and digest-sized roots."""
        if not isinstance(proof, (list, tuple)):
            return False
        size = self.digest_size
        return all(isinstance(v, (bytes, bytearray)) and len(v) == size for v in [*proof, *roots])

    def verify_inclusion(self, leaf_index: int, tree_size: int, fingerprint: bytes,
                         proof: Sequence[bytes], root: bytes) -> bool:
        """proofs.md 4.3, step for step."""
        if not (_is_int(leaf_index) and _is_int(tree_size) and isinstance(fingerprint, (bytes, bytearray))):
            return False
        if not self._sized_proof(proof, root) or not 0 <= leaf_index < tree_size:
            return False
        h = self.hash_fn
        fn, sn = leaf_index, tree_size - 1
        r = h(_LEAF + fingerprint)
        for p in proof:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = h(_NODE + p + r)
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
            else:
                r = h(_NODE + r + p)
            fn >>= 1
            sn >>= 1
        return sn == 0 and r == root

    def verify_inclusion_inner_border(self, leaf_index: int, tree_size: int, fingerprint: bytes,
                                      proof: Sequence[bytes], root: bytes) -> bool:
        """The inner/border formulation of 4.3 (transparency-dev/merkle), to cross-check."""
        if not (_is_int(leaf_index) and _is_int(tree_size) and isinstance(fingerprint, (bytes, bytearray))):
            return False
        if not self._sized_proof(proof, root) or not 0 <= leaf_index < tree_size:
            return False
        inner = (leaf_index ^ (tree_size - 1)).bit_length()
        border = bin(leaf_index >> inner).count("1")
        if len(proof) != inner + border:
            return False
        h = self.hash_fn
        r = h(_LEAF + fingerprint)
        for i, p in enumerate(proof[:inner]):
            r = h(_NODE + r + p) if (leaf_index >> i) & 1 == 0 else h(_NODE + p + r)
        for p in proof[inner:]:
            r = h(_NODE + p + r)
        return r == root

    def verify_consistency(self, first: int, second: int, first_root: bytes, second_root: bytes,
                           proof: Sequence[bytes]) -> bool:
        """proofs.md 4.4, step for step."""
        if not (_is_int(first) and _is_int(second)):
            return False
        if not self._sized_proof(proof, first_root, second_root) or not 0 <= first <= second:
            return False
        if first == second:
            return len(proof) == 0 and first_root == second_root
        if first == 0:
            return len(proof) == 0 and first_root == self.empty_root()
        if len(proof) == 0:
            return False
        path = list(proof)
        if first & (first - 1) == 0:
            path.insert(0, first_root)
        h = self.hash_fn
        fn, sn = first - 1, second - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        fr = sr = path[0]
        for c in path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = h(_NODE + c + fr)
                sr = h(_NODE + c + sr)
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
            else:
                sr = h(_NODE + sr + c)
            fn >>= 1
            sn >>= 1
        return fr == first_root and sr == second_root and sn == 0

    # --- stored levels ------------------------------------------------------------------------

    def build_levels(self, leaves: Sequence[bytes]) -> list[bytes]:
        """All complete subtrees: levels[k] = 32-byte hashes of aligned blocks of 2^k leaves.

        levels[0] holds every leaf hash; a tree of n leaves has n.bit_length() levels (one
        empty level for n == 0). The levels of n leaves serve every prefix size m <= n too.
        """
        h = self._new_hash()
        size = self.digest_size
        prev = b"".join([h(_LEAF + d) for d in leaves])
        levels = [prev]
        pair = 2 * size
        while len(prev) >= pair:
            count = len(prev) // pair
            prev = b"".join([h(_NODE + prev[i:i + pair]) for i in range(0, count * pair, pair)])
            levels.append(prev)
        return levels

    @staticmethod
    def levels_size(levels: Sequence[bytes], digest_size: int = 32) -> int:
        """Number of leaves the levels were built from."""
        return len(levels[0]) // digest_size if levels else 0

    def _node(self, levels: Sequence[bytes], level: int, index: int) -> bytes:
        size = self.digest_size
        return levels[level][index * size:(index + 1) * size]

    def _range_hash(self, levels: Sequence[bytes], start: int, end: int, h: HashFn) -> bytes:
        """MTH(D[start:end]) for end > start: a stored node if the range is an aligned
        power of two, else the RFC split (left part first)."""
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            level = width.bit_length() - 1
            return self._node(levels, level, start >> level)
        k = _largest_power_of_two_below(width)
        return h(_NODE + self._range_hash(levels, start, start + k, h)
                 + self._range_hash(levels, start + k, end, h))

    def _check_size(self, levels: Sequence[bytes], n: int) -> None:
        stored = self.levels_size(levels, self.digest_size)
        if not _is_int(n) or not 0 <= n <= stored:
            raise ValueError(f"tree size {n!r} is outside the {stored} stored leaves")

    def subtree_hash_from_levels(self, levels: Sequence[bytes], start: int, end: int) -> bytes:
        """RFC 9162 MTH of leaves [start, end) from the stored levels (H("") when empty)."""
        self._check_size(levels, end)
        if not _is_int(start) or not 0 <= start <= end:
            raise ValueError(f"range [{start!r}, {end}) is not a range of leaves")
        if start == end:
            return self.empty_root()
        return self._range_hash(levels, start, end, self._new_hash())

    def root_from_levels(self, levels: Sequence[bytes], n: int) -> bytes:
        """MTH of the first n leaves."""
        return self.subtree_hash_from_levels(levels, 0, n)

    def path_from_levels(self, levels: Sequence[bytes], n: int, index: int) -> list[bytes]:
        """PATH(index, D[0:n]) from the stored levels."""
        self._check_size(levels, n)
        if not _is_int(index) or not 0 <= index < n:
            raise ValueError(f"leaf index {index!r} is outside a tree of {n} leaves")
        h = self._new_hash()
        path: list[bytes] = []
        start, end = 0, n
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if index < start + k:
                path.append(self._range_hash(levels, start + k, end, h))
                end = start + k
            else:
                path.append(self._range_hash(levels, start, start + k, h))
                start += k
        path.reverse()
        return path

    def consistency_from_levels(self, levels: Sequence[bytes], n: int, m: int) -> list[bytes]:
        """PROOF(m, D[0:n]) from the stored levels; empty when m == 0 or m == n."""
        self._check_size(levels, n)
        if not _is_int(m) or not 0 <= m <= n:
            raise ValueError(f"first size {m!r} is outside 0..{n}")
        if m == 0 or m == n:
            return []
        h = self._new_hash()
        proof: list[bytes] = []
        start, end, rest, complete = 0, n, m, True
        while rest != end - start:
            k = _largest_power_of_two_below(end - start)
            if rest <= k:
                proof.append(self._range_hash(levels, start + k, end, h))
                end = start + k
            else:
                proof.append(self._range_hash(levels, start, start + k, h))
                start, rest, complete = start + k, rest - k, False
        if not complete:
            proof.append(self._range_hash(levels, start, end, h))
        proof.reverse()
        return proof


_fast_factory = _keccak_oneshot_factory()

KECCAK_TREE = TreeHasher(keccak256, _fast_factory or _keccak_public)
SHA256_TREE = TreeHasher(lambda data: hashlib.sha256(data).digest())

#: MTH of the empty tree, H("") = 0xc5d24601…a470.
EMPTY_ROOT: bytes = KECCAK_TREE.empty_root()

leaf_hash = KECCAK_TREE.leaf_hash
node_hash = KECCAK_TREE.node_hash
mth = KECCAK_TREE.mth
inclusion_path = KECCAK_TREE.inclusion_path
consistency_proof = KECCAK_TREE.consistency_proof
verify_inclusion = KECCAK_TREE.verify_inclusion
verify_inclusion_inner_border = KECCAK_TREE.verify_inclusion_inner_border
verify_consistency = KECCAK_TREE.verify_consistency
build_levels = KECCAK_TREE.build_levels
root_from_levels = KECCAK_TREE.root_from_levels
path_from_levels = KECCAK_TREE.path_from_levels
consistency_from_levels = KECCAK_TREE.consistency_from_levels
subtree_hash_from_levels = KECCAK_TREE.subtree_hash_from_levels


def levels_size(levels: Sequence[bytes]) -> int:
    """Number of leaves stored in Keccak levels."""
    return TreeHasher.levels_size(levels)
