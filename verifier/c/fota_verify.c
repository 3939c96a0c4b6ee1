/*
 * fota_verify: checks a firmware signed by a fota server, on libsodium only.
 *
 * What it checks, in order (docs/security.md describes the format):
 *   1. the signature file is one line "ed25519 <key id> <128 hex digits>";
 *   2. the key id is the id of the trusted public key: the first 8 bytes of SHA-256(public key),
 *      in hex;
 *   3. the Ed25519 signature is valid over the manifest's exact bytes;
 *   4. the manifest starts with "fota-manifest 1" and its "key" line names the same key;
 *   5. the firmware's size and SHA-256 are the manifest's "size" and "sha256".
 * MD5 is not checked (libsodium has none; SHA-256 is the one that counts).
 *
 * As a program (the tests build it so):
 *   cc -O2 -o fota_verify fota_verify.c -lsodium
 *   ./fota_verify <public key, 64 hex digits> manifest manifest.sig firmware.bin
 * exits 0 when everything checks out, 1 when something is refused (the reason on stderr), 2 on a
 * usage or read error.
 *
 * On an MCU: build with -DFOTA_VERIFY_NO_MAIN and call fota_verify_manifest() once the manifest and
 * its signature are downloaded, then feed the firmware through crypto_hash_sha256_update() as it
 * is written to flash, and compare with fota_manifest_expect() before booting it. Everything lives
 * on the stack; the manifest is at most FOTA_MAX_MANIFEST bytes.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOTA_MAX_MANIFEST 2048
#define FOTA_MAX_SIGNATURE 256
#define FOTA_KEY_ID_BYTES 8

/* What the manifest promises about the firmware. */
typedef struct {
  unsigned long long size;
  unsigned char sha256[crypto_hash_sha256_BYTES];
} fota_expect;

/* The value of the line "<name> <value>\n" in the manifest, or NULL; *length gets its length. */
static const char *manifest_value(const char *manifest, size_t manifest_len, const char *name, size_t *length) {
  size_t name_len = strlen(name);
  size_t at = 0;
  while (at < manifest_len) {
    const char *line = manifest + at;
    const char *end = memchr(line, '\n', manifest_len - at);
    if (end == NULL) return NULL;
    size_t line_len = (size_t)(end - line);
    if (line_len > name_len && memcmp(line, name, name_len) == 0 && line[name_len] == ' ') {
      *length = line_len - name_len - 1;
      return line + name_len + 1;
    }
    at += line_len + 1;
  }
  return NULL;
}

/*
 * Checks the signature and the manifest; fills *expect. Answers NULL when it checks out, otherwise
 * the reason in words.
 */
const char *fota_verify_manifest(const unsigned char public_key[crypto_sign_PUBLICKEYBYTES], const char *manifest,
                                 size_t manifest_len, const char *signature, size_t signature_len,
                                 fota_expect *expect) {
  static const char magic[] = "fota-manifest 1\n";
  unsigned char key_hash[crypto_hash_sha256_BYTES];
  char key_id[FOTA_KEY_ID_BYTES * 2 + 1];
  unsigned char sig[crypto_sign_BYTES];
  size_t decoded = 0;
  size_t length = 0;
  const char *value;

  if (manifest_len > FOTA_MAX_MANIFEST) return "the manifest is too large";
  if (signature_len > 0 && signature[signature_len - 1] == '\n') signature_len--;
  /* "ed25519 " + 16 + " " + 128 */
  if (signature_len != 8 + 16 + 1 + 128 || memcmp(signature, "ed25519 ", 8) != 0 || signature[24] != ' ') {
    return "the signature is not \"ed25519 <key id> <128 hex digits>\"";
  }
  crypto_hash_sha256(key_hash, public_key, crypto_sign_PUBLICKEYBYTES);
  sodium_bin2hex(key_id, sizeof key_id, key_hash, FOTA_KEY_ID_BYTES);
  if (memcmp(signature + 8, key_id, 16) != 0) return "the manifest is signed by another key than the trusted one";
  if (sodium_hex2bin(sig, sizeof sig, signature + 25, 128, NULL, &decoded, NULL) != 0 || decoded != sizeof sig) {
    return "the signature is not hexadecimal";
  }
  if (crypto_sign_verify_detached(sig, (const unsigned char *)manifest, manifest_len, public_key) != 0) {
    return "the signature does not match the manifest";
  }
  /* Signed by the trusted key: the manifest's own words can now be read. */
  if (manifest_len < sizeof magic - 1 || memcmp(manifest, magic, sizeof magic - 1) != 0 ||
      manifest[manifest_len - 1] != '\n') {
    return "the manifest does not start with \"fota-manifest 1\"";
  }
  value = manifest_value(manifest, manifest_len, "key", &length);
  if (value == NULL || length != 16 || memcmp(value, key_id, 16) != 0) return "the manifest names another key";
  value = manifest_value(manifest, manifest_len, "sha256", &length);
  if (value == NULL || length != 64 ||
      sodium_hex2bin(expect->sha256, sizeof expect->sha256, value, length, NULL, &decoded, NULL) != 0 ||
      decoded != sizeof expect->sha256) {
    return "the manifest has no sha256";
  }
  value = manifest_value(manifest, manifest_len, "size", &length);
  if (value == NULL || length == 0 || length > 16) return "the manifest has no size";
  expect->size = 0;
  for (size_t i = 0; i < length; i++) {
    if (value[i] < '0' || value[i] > '9') return "the manifest size is not a number";
    expect->size = expect->size * 10 + (unsigned long long)(value[i] - '0');
  }
  return NULL;
}

/* Compares a firmware's size and finished SHA-256 with the manifest; NULL when they match. */
const char *fota_manifest_expect(const fota_expect *expect, unsigned long long size,
                                 const unsigned char sha256[crypto_hash_sha256_BYTES]) {
  if (size != expect->size) return "the firmware's size is not the manifest's";
  if (sodium_memcmp(sha256, expect->sha256, crypto_hash_sha256_BYTES) != 0) {
    return "the firmware's SHA-256 is not the manifest's";
  }
  return NULL;
}

#ifndef FOTA_VERIFY_NO_MAIN
static size_t read_small(const char *path, char *buffer, size_t capacity) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) {
    fprintf(stderr, "fota_verify: cannot open %s\n", path);
    exit(2);
  }
  size_t length = fread(buffer, 1, capacity, file);
  int more = fgetc(file) != EOF;
  fclose(file);
  if (more) {
    fprintf(stderr, "fota_verify: %s is larger than %zu bytes\n", path, capacity);
    exit(1);
  }
  return length;
}

int main(int argc, char **argv) {
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  char manifest[FOTA_MAX_MANIFEST];
  char signature[FOTA_MAX_SIGNATURE];
  unsigned char chunk[4096];
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_state state;
  fota_expect expect;
  unsigned long long size = 0;
  size_t decoded = 0;
  size_t got;
  const char *refusal;
  FILE *firmware;

  if (argc != 5) {
    fprintf(stderr, "usage: fota_verify <public key hex> <manifest> <manifest.sig> <firmware>\n");
    return 2;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "fota_verify: libsodium did not start\n");
    return 2;
  }
  if (strlen(argv[1]) != 64 ||
      sodium_hex2bin(public_key, sizeof public_key, argv[1], 64, NULL, &decoded, NULL) != 0 ||
      decoded != sizeof public_key) {
    fprintf(stderr, "fota_verify: the public key is 64 hexadecimal digits\n");
    return 2;
  }
  size_t manifest_len = read_small(argv[2], manifest, sizeof manifest);
  size_t signature_len = read_small(argv[3], signature, sizeof signature);
  refusal = fota_verify_manifest(public_key, manifest, manifest_len, signature, signature_len, &expect);
  if (refusal != NULL) {
    fprintf(stderr, "fota_verify: refused: %s\n", refusal);
    return 1;
  }
  firmware = fopen(argv[4], "rb");
  if (firmware == NULL) {
    fprintf(stderr, "fota_verify: cannot open %s\n", argv[4]);
    return 2;
  }
  crypto_hash_sha256_init(&state);
  while ((got = fread(chunk, 1, sizeof chunk, firmware)) > 0) {
    crypto_hash_sha256_update(&state, chunk, got);
    size += got;
  }
  fclose(firmware);
  crypto_hash_sha256_final(&state, digest);
  refusal = fota_manifest_expect(&expect, size, digest);
  if (refusal != NULL) {
    fprintf(stderr, "fota_verify: refused: %s\n", refusal);
    return 1;
  }
  printf("fota_verify: ok\n");
  return 0;
}
#endif
