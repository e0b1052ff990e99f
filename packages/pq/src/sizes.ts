// Byte sizes fixed by FIPS 204 (ML-DSA-65) and FIPS 203 (ML-KEM-768); literals so that
// wire schemas can check lengths without loading the crypto code.
export const ML_DSA65_SEED_BYTES = 32;
export const ML_DSA65_PUBLIC_KEY_BYTES = 1952;
export const ML_DSA65_SECRET_KEY_BYTES = 4032;
export const ML_DSA65_SIGNATURE_BYTES = 3309;

export const ML_KEM768_SEED_BYTES = 64;
export const ML_KEM768_PUBLIC_KEY_BYTES = 1184;
export const ML_KEM768_SECRET_KEY_BYTES = 2400;
export const ML_KEM768_CIPHERTEXT_BYTES = 1088;
export const ML_KEM768_SHARED_SECRET_BYTES = 32;

export const ENVELOPE_KEY_BYTES = 32;
export const ENVELOPE_NONCE_BYTES = 12;
export const ENVELOPE_TAG_BYTES = 16;

/** SHA-256 hex prefix length used for device ids (128 bits). */
export const DEVICE_ID_HEX_CHARS = 32;
