#ifndef POLICY_CHANGE_CCURL_SHIM_H
#define POLICY_CHANGE_CCURL_SHIM_H

// Typed wrappers around libcurl's variadic entry points.
//
// `curl_easy_setopt`, `curl_easy_getinfo` and `curl_multi_setopt` take their
// value as a C variadic argument whose type depends on the option. Swift cannot
// call C variadic functions, so each value type the transport needs gets one
// `static inline` wrapper with a fixed signature. Passing the wrong kind of
// value for an option is undefined behaviour in C; keeping one wrapper per
// value type makes the call sites in Swift say which kind they pass.
//
// Only the `CurlTransport` module imports this module (DESIGN.md §2).

#include <curl/curl.h>

// MARK: - Global initialisation

/// `curl_global_init(CURL_GLOBAL_DEFAULT)`. The flag is a macro built from
/// other macros, which the Swift importer does not always carry over.
static inline CURLcode pc_curl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

/// The size of the buffer `CURLOPT_ERRORBUFFER` writes into.
static inline size_t pc_curl_error_size(void) { return CURL_ERROR_SIZE; }

// MARK: - curl_easy_setopt

static inline CURLcode pc_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode pc_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// For string options. libcurl copies strings passed to `curl_easy_setopt`
/// (since 7.17.0), except `CURLOPT_POSTFIELDS`, which is why the transport
/// uses `CURLOPT_COPYPOSTFIELDS` for bodies.
static inline CURLcode pc_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// For `CURLOPT_COPYPOSTFIELDS` with binary data: a pointer that is not a C
/// string (the length comes from `CURLOPT_POSTFIELDSIZE_LARGE`, set first).
static inline CURLcode pc_curl_easy_setopt_bytes(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// For `CURLOPT_WRITEDATA`, `CURLOPT_HEADERDATA`, `CURLOPT_READDATA`,
/// `CURLOPT_PRIVATE`, `CURLOPT_ERRORBUFFER`.
static inline CURLcode pc_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode pc_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/// `CURLOPT_WRITEFUNCTION` (response body chunks).
static inline CURLcode pc_curl_easy_setopt_write_callback(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

/// `CURLOPT_HEADERFUNCTION` (one complete header line per call, CRLF included).
/// It has the same C type as a write callback.
static inline CURLcode pc_curl_easy_setopt_header_callback(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}

/// `CURLOPT_READFUNCTION` (request body chunks), for streaming uploads.
static inline CURLcode pc_curl_easy_setopt_read_callback(CURL *handle, curl_read_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}

// MARK: - curl_easy_getinfo

static inline CURLcode pc_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode pc_curl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode pc_curl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode pc_curl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

// MARK: - curl_multi_setopt

static inline CURLMcode pc_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

// MARK: - CURLMsg

/// The result code of a `CURLMSG_DONE` message. `CURLMsg.data` is a C union;
/// reading it here keeps the union out of the Swift code.
static inline CURLcode pc_curl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
