/*
 * librdkafka's share consumer (KIP-932 preview in librdkafka 2.15) as a real client of the tests:
 * test/e2e/share-groups-librdkafka.test.ts compiles this against the librdkafka that
 * @confluentinc/kafka-javascript's install builds.
 *
 * usage: share-consumer <bootstrap> <topic> <group> <expected> <timeout-ms> <stop-file>
 * Reads with implicit acknowledgement until `expected` records came, the file `stop-file` exists
 * (the test makes it once the broker holds every record acknowledged) or the timeout passed,
 * closes, and prints one JSON line: {"records":[{"value":"...","offset":N,"deliveryCount":N},...]}.
 * Values are the test's own ASCII strings, printed as they are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s: %s\n", name, errstr);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s bootstrap topic group expected timeout-ms stop-file\n", argv[0]);
    return 2;
  }
  int expected = atoi(argv[4]);
  long long deadline = now_ms() + atoll(argv[5]);
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  set(conf, "group.id", argv[3]);
  rd_kafka_share_t *rkshare = rd_kafka_share_consumer_new(conf, errstr, sizeof(errstr));
  if (!rkshare) {
    fprintf(stderr, "share consumer: %s\n", errstr);
    return 1;
  }
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, argv[2], RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_share_subscribe(rkshare, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(err));
    return 1;
  }
  int got = 0;
  printf("{\"records\":[");
  while (got < expected && now_ms() < deadline && access(argv[6], F_OK) != 0) {
    rd_kafka_messages_t *batch = NULL;
    rd_kafka_error_t *error = rd_kafka_share_poll(rkshare, 200, &batch);
    if (error) {
      fprintf(stderr, "poll: %s\n", rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    } else if (batch) {
      size_t n = rd_kafka_messages_count(batch);
      for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = rd_kafka_messages_get(batch, i);
        if (m->err) {
          fprintf(stderr, "record: %s\n", rd_kafka_message_errstr(m));
          continue;
        }
        printf("%s{\"value\":\"%.*s\",\"offset\":%lld,\"deliveryCount\":%d}", got > 0 ? "," : "", (int)m->len,
               (const char *)m->payload, (long long)m->offset, (int)rd_kafka_message_delivery_count(m));
        got++;
      }
    }
    rd_kafka_messages_destroy(batch);
  }
  printf("]}\n");
  fflush(stdout);
  rd_kafka_error_t *closing = rd_kafka_share_consumer_close(rkshare);
  if (closing) {
    fprintf(stderr, "close: %s\n", rd_kafka_error_string(closing));
    rd_kafka_error_destroy(closing);
  }
  rd_kafka_share_destroy(rkshare);
  return 0;
}
