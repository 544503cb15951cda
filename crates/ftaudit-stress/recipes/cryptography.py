"""cryptography (Rust bindings): AES-GCM encrypt and decrypt 64 KiB with a shared key."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["cryptography.hazmat.bindings._rust"], "unit": "AES-256-GCM encrypt+decrypt 64 KiB"}

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def shared(seed):
    key = bytes((seed + k) % 256 for k in range(32))
    return AESGCM(key), bytes(range(256)) * 256


def work(shared, local, i):
    aead, data = shared
    nonce = i.to_bytes(12, "little")
    sealed = aead.encrypt(nonce, data, b"ftaudit")
    return len(aead.decrypt(nonce, sealed, b"ftaudit")), sealed[-16:]
