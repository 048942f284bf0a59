// SPDX-License-Identifier: MIT
#include "agent/exitcode.h"

#include <errno.h>
#include <sysexits.h>

int exit_code_of(int r)
{
	switch (-r) {
	case 0:
		return EX_OK;
	case EMEDIUMTYPE:
		return EX_DATAERR;
	case EPERM:
	case EXDEV:
	case EACCES:
	case ENOKEY:
	case EKEYREJECTED:
	case EKEYREVOKED:
		return EX_CONFIG;
	case EBADMSG:
		return EX_PROTOCOL;
	case ENXIO: /* device-mapper or one of its targets is missing */
	case EHOSTDOWN:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ENOTCONN:
		return EX_UNAVAILABLE;
	case EAGAIN:
	case EBUSY:
	case EINTR:
		return EX_TEMPFAIL;
	case ENOMEM:
	case EINVAL:
	case EFAULT:
	case ENOTRECOVERABLE:
	case ECHILD: /* a disk's worker died (base/workers.h) */
		return EX_SOFTWARE;
	default:
		return EX_CANTCREAT;
	}
}
