#ifndef CPCRE2_SHIM_H
#define CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// PCRE2's public names are macros over width-suffixed functions; these inline
// wrappers give Swift callable names for the 8-bit library and its constants.
static inline unsigned int cpcre2_error_nomatch(void) { return (unsigned int)PCRE2_ERROR_NOMATCH; }
#endif
