#ifndef LEADROUTER_CHIREDIS_SHIM_H
#define LEADROUTER_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
