/*
 * wire.h: the pure half of multus-shim. Everything here works on caller-owned buffers, never allocates,
 * never does I/O, and must be safe (no out-of-bounds access, no unbounded recursion) on any input: it is
 * what the libFuzzer target in fuzz/ exercises.
 */
#ifndef MULTUS_SHIM_WIRE_H
#define MULTUS_SHIM_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* ---- JSON ---------------------------------------------------------------------------------------- */

/* Nesting limit of the scanner (encoding/json uses the same). Deeper documents are rejected. */
#define JSON_MAX_DEPTH 10000

enum json_type { JT_NONE = 0, JT_STRING, JT_NUMBER, JT_OBJECT, JT_ARRAY, JT_TRUE, JT_FALSE, JT_NULL };

/* One top-level member to look for. `name` is compared with the key after unescaping it; when a key
 * occurs more than once the last occurrence wins (as in encoding/json and JSON.parse). */
struct json_member {
  const char *name;
  enum json_type type; /* out: JT_NONE when absent */
  size_t off, len;     /* out: raw text of the value (a string keeps its quotes) */
};

/* Scans buf[0..len) as exactly one JSON object (RFC 8259 grammar; like encoding/json, bytes that are not
 * valid UTF-8 are tolerated inside strings) and fills `members`. Returns 0, or -1 if the input is not
 * one well-formed object (the members are then meaningless). */
int json_scan_object(const unsigned char *buf, size_t len, struct json_member *members, size_t n);

/* Decodes the string literal lit[0..len) (with its quotes, already validated by json_scan_object) into
 * out[0..cap): escapes resolved, \u surrogate pairs joined, lone surrogates become U+FFFD. Returns the
 * decoded length, or -1 if it does not fit or the literal is malformed. Nothing is NUL-terminated. */
long json_string_decode(const unsigned char *lit, size_t len, char *out, size_t cap);

/* Escapes one unit (a byte, or a whole valid UTF-8 sequence) from in[0..len), len > 0, into out and
 * returns the number of bytes written (1..6); *used receives the number of input bytes consumed.
 * '"', '\\' and control characters are escaped, each byte of an invalid UTF-8 sequence becomes
 * \ufffd (what encoding/json does), U+2028/U+2029 are escaped; everything else is copied. */
size_t json_escape_unit(const unsigned char *in, size_t len, size_t *used, char out[6]);

/* The length json_escape_unit would produce for all of in[0..len). */
size_t json_escaped_len(const unsigned char *in, size_t len);

/* ---- UTF-8 and CNI identifiers -------------------------------------------------------------------- */

/* Decodes one valid UTF-8 sequence at in[0..len): returns its length (1..4) and stores the code point,
 * or returns 0 if the bytes there are not a valid, shortest-form sequence. */
size_t utf8_decode(const unsigned char *in, size_t len, uint32_t *cp);

/* Go's unicode.IsSpace. */
int rune_is_space(uint32_t cp);

/* libcni's container ID rule: ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ */
int valid_container_id(const char *s, size_t len);

/* libcni's interface name rules. Returns NULL when valid, else the error message libcni uses;
 * *details receives libcni's details text ("" when it has none). */
const char *ifname_problem(const char *s, size_t len, const char **details);

/* ---- base64 (standard alphabet, with padding) ------------------------------------------------------ */

#define BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/* Encodes in[0..len) into out (BASE64_LEN(len) bytes) and returns that length. */
size_t base64_encode(char *out, const unsigned char *in, size_t len);

/* ---- HTTP/1.1 response ---------------------------------------------------------------------------- */

#define HTTP_MAX_HEAD (64u * 1024u)

enum http_status { HTTP_NEED_MORE = 0, HTTP_DONE = 1, HTTP_BAD = -1, HTTP_TOO_LARGE = -2 };

/* Incremental parser state. Zero it, then call http_parse after every read with the whole buffer. */
struct http_response {
  /* results (valid once http_parse returned HTTP_DONE) */
  int status;       /* e.g. 200 */
  int raw_output;   /* the X-Multus-Ts-Output: raw header was present */
  size_t body_off;  /* decoded body is buf[body_off .. body_off + body_len) */
  size_t body_len;
  const char *why;  /* for HTTP_BAD / HTTP_TOO_LARGE: a short reason */
  /* internal */
  int head_done, chunked, has_length, chunks_done;
  uint64_t content_length;
  size_t raw_pos;   /* chunked: first raw byte not yet decoded */
};

/* Parses the response held in buf[0..*len). `eof` says the peer closed the connection. The body is never
 * allowed to exceed max_body. Chunked bodies are decoded in place (buf is modified, and *len shrinks
 * when already-decoded chunk framing is dropped, so callers must re-read *len before appending).
 * Interim 1xx responses are discarded. Returns an enum http_status. */
int http_parse(char *buf, size_t *len, int eof, size_t max_body, struct http_response *r);

#endif
