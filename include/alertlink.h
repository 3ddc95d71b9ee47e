/*
 * alertlink.h: webhook alerts as the other processes see them: a channel
 * to the alerter process, which alone holds the HMAC secret (alert.h).
 * Emitting only queues a message; it never blocks and never fails the
 * caller.  Without a channel the alert is dropped and counted.
 */
#ifndef EPPGW_ALERTLINK_H
#define EPPGW_ALERTLINK_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

struct alertlink;

struct alertlink *alertlink_new(struct event_base *base);
void alertlink_free(struct alertlink *l);
/* A (new) channel to the alerter.  -1 on failure (fd closed). */
int alertlink_attach(struct alertlink *l, int fd);
int alertlink_ready(const struct alertlink *l);
/* As alert_emit(): fields is stolen.  NULL l: discarded. */
void alertlink_emit(struct alertlink *l, const char *event, json_t *fields);
/* Alerts that could not even be handed to the alerter. */
uint64_t alertlink_lost(const struct alertlink *l);

#endif
