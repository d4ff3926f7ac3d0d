/* exchange_compat.h
 * Every difference between the Wireshark series this plugin builds for
 * (4.0, 4.4, 4.6), and nothing else: the rest of the code is written once,
 * against the names defined here.  Checked by compiling against each
 * series' installed headers (the matrix target).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef EXCHANGE_COMPAT_H
#define EXCHANGE_COMPAT_H

#include <wireshark.h>      /* ws_version.h: WIRESHARK_VERSION_MAJOR/MINOR */
#include <wsutil/pint.h>

#define EXCH_WS_AT_LEAST(major, minor) \
    (WIRESHARK_VERSION_MAJOR > (major) || \
     (WIRESHARK_VERSION_MAJOR == (major) && WIRESHARK_VERSION_MINOR >= (minor)))

/* 4.6 moved value_string.h from epan/ to wsutil/. */
#if EXCH_WS_AT_LEAST(4, 6)
#include <wsutil/value_string.h>
#else
#include <epan/value_string.h>
#endif

/* The variable behind a boolean preference: gboolean until 4.2, bool from 4.4. */
#if EXCH_WS_AT_LEAST(4, 4)
typedef bool exch_pref_bool_t;
#else
typedef gboolean exch_pref_bool_t;
#endif

/* What a heuristic dissector answers: gboolean until 4.2, bool from 4.4
 * (only the suite's test module has one). */
#if EXCH_WS_AT_LEAST(4, 4)
typedef bool exch_heur_result_t;
#else
typedef gboolean exch_heur_result_t;
#endif

/* Unaligned little- and big-endian reads: renamed pletohu16... in 4.6. */
#if EXCH_WS_AT_LEAST(4, 6)
#define exch_le16(p) pletohu16(p)
#define exch_le32(p) pletohu32(p)
#define exch_be16(p) pntohu16(p)
#define exch_be32(p) pntohu32(p)
#else
#define exch_le16(p) pletoh16(p)
#define exch_le32(p) pletoh32(p)
#define exch_be16(p) pntoh16(p)
#define exch_be32(p) pntoh32(p)
#endif

/* ws_fopen(): fopen with UTF-8 paths on Windows.  Debian installs
 * wsutil/file_util.h only from 4.6 on; before, fopen is what it means on
 * the systems those headers serve. */
#if defined(__has_include)
#if __has_include(<wsutil/file_util.h>)
#include <wsutil/file_util.h>
#endif
#endif
#ifndef ws_fopen
#include <stdio.h>
#define ws_fopen fopen
#endif

/* field_info.value is embedded in 4.0 and a pointer from 4.2 on. */
#if EXCH_WS_AT_LEAST(4, 2)
#define EXCH_FI_VALUE(fi) ((fi)->value)
#else
#define EXCH_FI_VALUE(fi) (&(fi)->value)
#endif

/* The return code of an EMSMDB call: MAPISTATUS in 4.0's mapi dissector,
 * WERROR in the one rebuilt from MS-OXCRPC's IDL (4.4 on, which also
 * decodes EcDoConnectEx and EcDoRpcExt2). */
#if EXCH_WS_AT_LEAST(4, 4)
#define EXCH_MAPI_RETURN_FIELD "mapi.werror"
#else
#define EXCH_MAPI_RETURN_FIELD "mapi.MAPISTATUS_status"
#endif

#endif /* EXCHANGE_COMPAT_H */
