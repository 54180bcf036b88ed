#ifndef LEADROUTER_CMICROHTTPD_SHIM_H
#define LEADROUTER_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <sys/socket.h>
#include <microhttpd.h>

/* MHD_start_daemon is variadic, which Swift cannot call: this fixes the options we use (one
   internal polling thread, a given bind address). */
static inline struct MHD_Daemon *lr_mhd_start(uint16_t port, const struct sockaddr *address,
                                              MHD_AccessHandlerCallback handler, void *context) {
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL,
                            handler, context, MHD_OPTION_SOCK_ADDR, address,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
}
#endif
