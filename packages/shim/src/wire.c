/*
 * wire.c: JSON scanning and escaping, UTF-8, CNI identifier rules, base64 and the HTTP response parser.
 * Pure functions over caller-owned buffers (see wire.h). Every index is checked against its bound before
 * it is read; the JSON scanner is iterative with a fixed-size nesting stack, so hostile input can neither
 * read out of bounds nor exhaust the C stack.
 */
#include "wire.h"

#include <string.h>

/* ---- JSON scanning ------------------------------------------------------------------------------ */

static size_t skip_ws(const unsigned char *s, size_t n, size_t p) {
  while (p < n && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r')) p++;
  return p;
}

static int is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static unsigned hex_val(unsigned char c) {
  if (c >= '0' && c <= '9') return (unsigned)(c - '0');
  if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
  return (unsigned)(c - 'A' + 10);
}

/* s[*p] is the opening quote; on success *p is just past the closing quote. */
static int skip_string(const unsigned char *s, size_t n, size_t *p) {
  size_t q = *p + 1;
  while (q < n) {
    unsigned char c = s[q];
    if (c == '"') {
      *p = q + 1;
      return 0;
    }
    if (c < 0x20) return -1;
    if (c != '\\') {
      q++;
      continue;
    }
    if (n - q < 2) return -1;
    switch (s[q + 1]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        q += 2;
        break;
      case 'u':
        if (n - q < 6) return -1;
        for (size_t i = 2; i < 6; i++)
          if (!is_hex(s[q + i])) return -1;
        q += 6;
        break;
      default:
        return -1;
    }
  }
  return -1;
}

static int skip_number(const unsigned char *s, size_t n, size_t *p) {
  size_t q = *p;
  if (q < n && s[q] == '-') q++;
  if (q >= n) return -1;
  if (s[q] == '0') {
    q++;
  } else if (s[q] >= '1' && s[q] <= '9') {
    while (q < n && is_digit(s[q])) q++;
  } else {
    return -1;
  }
  if (q < n && s[q] == '.') {
    q++;
    if (q >= n || !is_digit(s[q])) return -1;
    while (q < n && is_digit(s[q])) q++;
  }
  if (q < n && (s[q] == 'e' || s[q] == 'E')) {
    q++;
    if (q < n && (s[q] == '+' || s[q] == '-')) q++;
    if (q >= n || !is_digit(s[q])) return -1;
    while (q < n && is_digit(s[q])) q++;
  }
  *p = q;
  return 0;
}

static int skip_literal(const unsigned char *s, size_t n, size_t *p, const char *word, size_t wlen) {
  if (n - *p < wlen || memcmp(s + *p, word, wlen) != 0) return -1;
  *p += wlen;
  return 0;
}

static enum json_type type_of(unsigned char c) {
  switch (c) {
    case '"': return JT_STRING;
    case '{': return JT_OBJECT;
    case '[': return JT_ARRAY;
    case 't': return JT_TRUE;
    case 'f': return JT_FALSE;
    case 'n': return JT_NULL;
    default: return (c == '-' || is_digit(c)) ? JT_NUMBER : JT_NONE;
  }
}

/* After '{' or ',' inside an object: a key string, optional blanks, ':' and the blanks before the value. */
static int skip_key_colon(const unsigned char *s, size_t n, size_t *p) {
  size_t q = skip_ws(s, n, *p);
  if (q >= n || s[q] != '"' || skip_string(s, n, &q) != 0) return -1;
  q = skip_ws(s, n, q);
  if (q >= n || s[q] != ':') return -1;
  *p = q + 1;
  return 0;
}

/* Skips one complete value starting at s[*p] (no leading blanks). Iterative: containers push one bit
 * (1 = object) on a fixed stack, so the depth is bounded without recursion. */
static int skip_value(const unsigned char *s, size_t n, size_t *p) {
  unsigned char stack[(JSON_MAX_DEPTH + 7) / 8] = {0};
  size_t depth = 0, q = *p;
  for (;;) {
    q = skip_ws(s, n, q);
    if (q >= n) return -1;
    unsigned char c = s[q];
    if (c == '{' || c == '[') {
      if (depth >= JSON_MAX_DEPTH) return -1;
      if (c == '{')
        stack[depth / 8] = (unsigned char)(stack[depth / 8] | (1u << (depth % 8)));
      else
        stack[depth / 8] = (unsigned char)(stack[depth / 8] & ~(1u << (depth % 8)));
      depth++;
      q = skip_ws(s, n, q + 1);
      if (q >= n) return -1;
      if (s[q] == (c == '{' ? '}' : ']')) {
        depth--;
        q++;
      } else {
        if (c == '{' && skip_key_colon(s, n, &q) != 0) return -1;
        continue; /* parse the first element */
      }
    } else {
      int rc;
      switch (type_of(c)) {
        case JT_STRING: rc = skip_string(s, n, &q); break;
        case JT_NUMBER: rc = skip_number(s, n, &q); break;
        case JT_TRUE: rc = skip_literal(s, n, &q, "true", 4); break;
        case JT_FALSE: rc = skip_literal(s, n, &q, "false", 5); break;
        case JT_NULL: rc = skip_literal(s, n, &q, "null", 4); break;
        default: rc = -1; break;
      }
      if (rc != 0) return -1;
    }
    /* a value just ended: close containers or move to the next element */
    for (;;) {
      if (depth == 0) {
        *p = q;
        return 0;
      }
      int in_object = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
      q = skip_ws(s, n, q);
      if (q >= n) return -1;
      if (s[q] == ',') {
        q++;
        if (in_object && skip_key_colon(s, n, &q) != 0) return -1;
        break; /* parse the next element */
      }
      if (s[q] != (in_object ? '}' : ']')) return -1;
      depth--;
      q++;
    }
  }
}

static int key_equals(const unsigned char *lit, size_t len, const char *name) {
  char tmp[64];
  size_t want = strlen(name);
  if (want >= sizeof tmp) return 0;
  long got = json_string_decode(lit, len, tmp, want + 1); /* one spare byte: longer keys do not fit */
  return got == (long)want && memcmp(tmp, name, want) == 0;
}

int json_scan_object(const unsigned char *buf, size_t len, struct json_member *members, size_t n) {
  for (size_t i = 0; i < n; i++) {
    members[i].type = JT_NONE;
    members[i].off = members[i].len = 0;
  }
  size_t p = skip_ws(buf, len, 0);
  if (p >= len || buf[p] != '{') return -1;
  p = skip_ws(buf, len, p + 1);
  if (p < len && buf[p] == '}') {
    p++;
  } else {
    for (;;) {
      p = skip_ws(buf, len, p);
      if (p >= len || buf[p] != '"') return -1;
      size_t key_off = p;
      if (skip_string(buf, len, &p) != 0) return -1;
      size_t key_len = p - key_off;
      p = skip_ws(buf, len, p);
      if (p >= len || buf[p] != ':') return -1;
      p = skip_ws(buf, len, p + 1);
      if (p >= len) return -1;
      size_t val_off = p;
      enum json_type t = type_of(buf[p]);
      if (t == JT_NONE || skip_value(buf, len, &p) != 0) return -1;
      for (size_t i = 0; i < n; i++) {
        if (key_equals(buf + key_off, key_len, members[i].name)) {
          members[i].type = t;
          members[i].off = val_off;
          members[i].len = p - val_off;
        }
      }
      p = skip_ws(buf, len, p);
      if (p >= len) return -1;
      if (buf[p] == ',') {
        p++;
        continue;
      }
      if (buf[p] != '}') return -1;
      p++;
      break;
    }
  }
  return skip_ws(buf, len, p) == len ? 0 : -1;
}

static size_t put_utf8(char *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* lit[i] == '\\' && lit[i+1] == 'u' with four hex digits before `end`? */
static int u_escape_at(const unsigned char *lit, size_t i, size_t end, uint32_t *v) {
  if (end < i || end - i < 6 || lit[i] != '\\' || lit[i + 1] != 'u') return 0;
  uint32_t x = 0;
  for (size_t k = 2; k < 6; k++) {
    if (!is_hex(lit[i + k])) return 0;
    x = (x << 4) | hex_val(lit[i + k]);
  }
  *v = x;
  return 1;
}

long json_string_decode(const unsigned char *lit, size_t len, char *out, size_t cap) {
  if (len < 2 || lit[0] != '"' || lit[len - 1] != '"') return -1;
  size_t end = len - 1, o = 0, i = 1;
  char tmp[4];
  while (i < end) {
    size_t k;
    unsigned char c = lit[i];
    if (c == '\\') {
      if (end - i < 2) return -1;
      unsigned char e = lit[i + 1];
      const char *simple = NULL;
      switch (e) {
        case '"': simple = "\""; break;
        case '\\': simple = "\\"; break;
        case '/': simple = "/"; break;
        case 'b': simple = "\b"; break;
        case 'f': simple = "\f"; break;
        case 'n': simple = "\n"; break;
        case 'r': simple = "\r"; break;
        case 't': simple = "\t"; break;
        default: break;
      }
      if (simple) {
        tmp[0] = simple[0];
        k = 1;
        i += 2;
      } else {
        uint32_t cp, lo;
        if (!u_escape_at(lit, i, end, &cp)) return -1;
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF && u_escape_at(lit, i, end, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        k = put_utf8(tmp, cp);
      }
    } else if (c < 0x80) {
      tmp[0] = (char)c;
      k = 1;
      i++;
    } else {
      uint32_t cp;
      size_t w = utf8_decode(lit + i, end - i, &cp);
      if (w == 0) {
        k = put_utf8(tmp, 0xFFFD);
        i++;
      } else {
        memcpy(tmp, lit + i, w);
        k = w;
        i += w;
      }
    }
    if (cap - o < k) return -1;
    memcpy(out + o, tmp, k);
    o += k;
  }
  return (long)o;
}

/* ---- JSON escaping ------------------------------------------------------------------------------ */

size_t json_escape_unit(const unsigned char *in, size_t len, size_t *used, char out[6]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char c = in[0];
  *used = 1;
  switch (c) {
    case '"': memcpy(out, "\\\"", 2); return 2;
    case '\\': memcpy(out, "\\\\", 2); return 2;
    case '\b': memcpy(out, "\\b", 2); return 2;
    case '\f': memcpy(out, "\\f", 2); return 2;
    case '\n': memcpy(out, "\\n", 2); return 2;
    case '\r': memcpy(out, "\\r", 2); return 2;
    case '\t': memcpy(out, "\\t", 2); return 2;
    default: break;
  }
  if (c < 0x20) {
    memcpy(out, "\\u00", 4);
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return 6;
  }
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  uint32_t cp;
  size_t w = utf8_decode(in, len, &cp);
  if (w == 0) {
    memcpy(out, "\\ufffd", 6);
    return 6;
  }
  *used = w;
  if (cp == 0x2028 || cp == 0x2029) {
    memcpy(out, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
    return 6;
  }
  memcpy(out, in, w);
  return w;
}

size_t json_escaped_len(const unsigned char *in, size_t len) {
  size_t total = 0, used;
  char tmp[6];
  while (len > 0) {
    total += json_escape_unit(in, len, &used, tmp);
    in += used;
    len -= used;
  }
  return total;
}

/* ---- UTF-8 and identifiers ---------------------------------------------------------------------- */

size_t utf8_decode(const unsigned char *in, size_t len, uint32_t *cp) {
  if (len == 0) return 0;
  unsigned char c = in[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  uint32_t v;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    v = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
  } else {
    return 0;
  }
  if (len - 1 < need) return 0;
  for (size_t i = 1; i <= need; i++) {
    unsigned char b = in[i];
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
    v = (v << 6) | (b & 0x3F);
  }
  *cp = v;
  return need + 1;
}

int rune_is_space(uint32_t cp) {
  switch (cp) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return 1;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

static int name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int valid_container_id(const char *s, size_t len) {
  if (len == 0 || !name_char((unsigned char)s[0])) return 0;
  for (size_t i = 1; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!name_char(c) && c != '_' && c != '.' && c != '-') return 0;
  }
  return 1;
}

const char *ifname_problem(const char *s, size_t len, const char **details) {
  *details = "";
  if (len == 0) return "interface name is empty";
  if (len > 15) {
    *details = "interface name should be less than 16 characters";
    return "interface name is too long";
  }
  if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) return "interface name is . or ..";
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t w = utf8_decode(u + i, len - i, &cp);
    if (w == 0) { /* an invalid byte decodes to U+FFFD, which is allowed */
      i++;
      continue;
    }
    if (cp == '/' || cp == ':' || rune_is_space(cp)) return "interface name contains / or : or whitespace characters";
    i += w;
  }
  return NULL;
}

/* ---- base64 ------------------------------------------------------------------------------------- */

size_t base64_encode(char *out, const unsigned char *in, size_t len) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0, i = 0;
  for (; len - i >= 3; i += 3) {
    uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
    out[o++] = tab[v >> 18];
    out[o++] = tab[(v >> 12) & 63];
    out[o++] = tab[(v >> 6) & 63];
    out[o++] = tab[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = tab[v >> 18];
    out[o++] = tab[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (len - i == 2) {
    uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
    out[o++] = tab[v >> 18];
    out[o++] = tab[(v >> 12) & 63];
    out[o++] = tab[(v >> 6) & 63];
    out[o++] = '=';
  }
  return o;
}

/* ---- HTTP/1.1 response -------------------------------------------------------------------------- */

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int ieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen != blen) return 0;
  for (size_t i = 0; i < alen; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

static int tchar(unsigned char c) {
  return name_char(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Next line in buf[p..len): [*ls, *le) without its CR LF (or bare LF); returns the index after the LF,
 * or 0 if no complete line is there yet. A CR anywhere but just before the LF makes the line invalid. */
static size_t next_line(const char *buf, size_t len, size_t p, size_t *ls, size_t *le, int *bad) {
  const char *nl = memchr(buf + p, '\n', len - p);
  if (!nl) return 0;
  size_t e = (size_t)(nl - buf);
  *ls = p;
  *le = (e > p && buf[e - 1] == '\r') ? e - 1 : e;
  *bad = memchr(buf + p, '\r', *le - p) != NULL;
  return e + 1;
}

static int http_bad(struct http_response *r, const char *why) {
  r->why = why;
  return HTTP_BAD;
}

static int http_too_large(struct http_response *r, const char *why) {
  r->why = why;
  return HTTP_TOO_LARGE;
}

/* Could buf[0..len) still become "HTTP/1.x "? Lets garbage be told from a reply cut short. */
static int status_prefix_ok(const char *buf, size_t len) {
  size_t n = len < 7 ? len : 7;
  if (memcmp(buf, "HTTP/1.", n) != 0) return 0;
  if (len > 7 && buf[7] != '0' && buf[7] != '1') return 0;
  return len <= 8 || buf[8] == ' ';
}

static int parse_head(char *buf, size_t len, int eof, size_t max_body, struct http_response *r) {
  size_t p, ls, le, limit = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
  int bad;
  if (!status_prefix_ok(buf, len)) return http_bad(r, "malformed HTTP status line");
  /* status line: HTTP/1.x SP 3DIGIT [SP reason] */
  p = next_line(buf, limit, 0, &ls, &le, &bad);
  if (p == 0) {
    if (len >= HTTP_MAX_HEAD) return http_too_large(r, "response head too large");
    return eof ? http_bad(r, "connection closed before the response head was complete") : HTTP_NEED_MORE;
  }
  if (bad || le - ls < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') ||
      buf[8] != ' ' || !is_digit((unsigned char)buf[9]) || !is_digit((unsigned char)buf[10]) ||
      !is_digit((unsigned char)buf[11]) || (le - ls > 12 && buf[12] != ' '))
    return http_bad(r, "malformed HTTP status line");
  int status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
  if (status < 100) return http_bad(r, "malformed HTTP status line");
  int chunked = 0, has_length = 0, raw = 0, has_te = 0;
  uint64_t length = 0;
  for (;;) {
    size_t q = next_line(buf, limit, p, &ls, &le, &bad);
    if (q == 0) {
      if (len >= HTTP_MAX_HEAD) return http_too_large(r, "response head too large");
      return eof ? http_bad(r, "connection closed before the response head was complete") : HTTP_NEED_MORE;
    }
    p = q;
    if (bad) return http_bad(r, "malformed HTTP header line");
    if (le == ls) break; /* the blank line ending the head */
    const char *colon = memchr(buf + ls, ':', le - ls);
    if (!colon || colon == buf + ls) return http_bad(r, "malformed HTTP header line");
    size_t nlen = (size_t)(colon - (buf + ls));
    for (size_t i = 0; i < nlen; i++)
      if (!tchar((unsigned char)buf[ls + i])) return http_bad(r, "malformed HTTP header name");
    size_t vs = (size_t)(colon - buf) + 1, ve = le;
    while (vs < ve && (buf[vs] == ' ' || buf[vs] == '\t')) vs++;
    while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) ve--;
    const char *name = buf + ls;
    if (ieq(name, nlen, "content-length")) {
      uint64_t v = 0;
      if (ve == vs || ve - vs > 18) return http_bad(r, "invalid Content-Length");
      for (size_t i = vs; i < ve; i++) {
        if (!is_digit((unsigned char)buf[i])) return http_bad(r, "invalid Content-Length");
        v = v * 10 + (uint64_t)(buf[i] - '0');
      }
      if (has_length && v != length) return http_bad(r, "conflicting Content-Length headers");
      has_length = 1;
      length = v;
    } else if (ieq(name, nlen, "transfer-encoding")) {
      /* the last coding must be chunked; anything else (gzip...) we never asked for */
      size_t ts = ve;
      while (ts > vs && buf[ts - 1] != ',') ts--;
      while (ts < ve && (buf[ts] == ' ' || buf[ts] == '\t')) ts++;
      if (!ieq(buf + ts, ve - ts, "chunked") || ts != vs) return http_bad(r, "unsupported Transfer-Encoding");
      has_te = 1;
      chunked = 1;
    } else if (ieq(name, nlen, "x-multus-ts-output")) {
      raw = ieq(buf + vs, ve - vs, "raw");
    }
  }
  if (p > HTTP_MAX_HEAD) return http_too_large(r, "response head too large");
  r->status = status;
  r->raw_output = raw;
  r->head_done = 1;
  r->body_off = r->raw_pos = p;
  r->body_len = 0;
  r->chunked = chunked;
  r->has_length = has_length && !has_te;
  r->content_length = length;
  if (r->has_length && length > max_body) return http_too_large(r, "response body too large");
  return HTTP_DONE;
}

/* Decodes complete chunks from raw_pos on, compacting them right after the body decoded so far. */
static int parse_chunks(char *buf, size_t *lenp, int eof, size_t max_body, struct http_response *r) {
  size_t len = *lenp;
  int rc = HTTP_NEED_MORE;
  for (;;) {
    size_t ls, le, q;
    int bad;
    q = next_line(buf, len, r->raw_pos, &ls, &le, &bad);
    if (q == 0) {
      if (len - r->raw_pos > 4096) {
        rc = http_bad(r, r->chunks_done ? "HTTP trailer line too long" : "chunk header too long");
      } else if (eof) {
        rc = http_bad(r, "connection closed in the middle of a chunked body");
      }
      break;
    }
    if (bad) {
      rc = http_bad(r, "malformed chunk framing");
      break;
    }
    if (r->chunks_done) { /* trailer section: skip lines up to the blank one */
      r->raw_pos = q;
      if (le == ls) {
        rc = HTTP_DONE;
        break;
      }
      continue;
    }
    uint64_t size = 0;
    size_t i = ls, digits = 0;
    while (i < le && is_hex((unsigned char)buf[i])) {
      if (++digits > 15) return http_bad(r, "chunk size too large");
      size = (size << 4) | hex_val((unsigned char)buf[i]);
      i++;
    }
    while (i < le && (buf[i] == ' ' || buf[i] == '\t')) i++;
    if (digits == 0 || (i < le && buf[i] != ';')) {
      rc = http_bad(r, "malformed chunk size");
      break;
    }
    if (size == 0) {
      r->chunks_done = 1;
      r->raw_pos = q;
      continue;
    }
    if (size > max_body || r->body_len > max_body - size) {
      rc = http_too_large(r, "response body too large");
      break;
    }
    /* data, then CRLF (or LF) */
    if (len - q < size + 1 || (buf[q + size] == '\r' && len - q < size + 2)) {
      if (eof) rc = http_bad(r, "connection closed in the middle of a chunked body");
      break;
    }
    size_t after;
    if (buf[q + size] == '\n') {
      after = q + size + 1;
    } else if (buf[q + size] == '\r' && buf[q + size + 1] == '\n') {
      after = q + size + 2;
    } else {
      rc = http_bad(r, "malformed chunk framing");
      break;
    }
    memmove(buf + r->body_off + r->body_len, buf + q, size);
    r->body_len += size;
    r->raw_pos = after;
  }
  /* drop the framing already consumed so the caller can append more */
  size_t keep_from = r->raw_pos, dst = r->body_off + r->body_len;
  if (keep_from > dst) {
    memmove(buf + dst, buf + keep_from, len - keep_from);
    *lenp = len - (keep_from - dst);
    r->raw_pos = dst;
  }
  return rc;
}

int http_parse(char *buf, size_t *len, int eof, size_t max_body, struct http_response *r) {
  r->why = NULL;
  while (!r->head_done) {
    int rc = parse_head(buf, *len, eof, max_body, r);
    if (rc != HTTP_DONE) return rc;
    if (r->status >= 100 && r->status < 200) {
      if (r->status == 101) return http_bad(r, "unexpected protocol switch");
      /* interim response: forget it and parse what follows */
      size_t skip = r->body_off;
      memmove(buf, buf + skip, *len - skip);
      *len -= skip;
      memset(r, 0, sizeof *r);
    }
  }
  if (r->status == 204 || r->status == 304) {
    r->body_len = 0;
    return HTTP_DONE;
  }
  if (r->chunked) return parse_chunks(buf, len, eof, max_body, r);
  size_t have = *len - r->body_off;
  if (r->has_length) {
    if (have >= r->content_length) {
      r->body_len = (size_t)r->content_length;
      return HTTP_DONE;
    }
    return eof ? http_bad(r, "connection closed before the whole body arrived") : HTTP_NEED_MORE;
  }
  if (have > max_body) return http_too_large(r, "response body too large");
  if (!eof) return HTTP_NEED_MORE;
  r->body_len = have;
  return HTTP_DONE;
}
