/*
 * librdkafka's in-memory mock cluster (one broker) as a process of its own, so that the
 * kafka-perf benchmark drives it with the same separate client processes as a real broker.
 * usage: mock-cluster TOPIC...   creates each topic with one partition, prints the bootstrap
 * servers on one line and serves until its standard input closes.
 */
#include <stdio.h>
#include <unistd.h>

#include "rdkafka.h"
#include "rdkafka_mock.h"

int main(int argc, char **argv) {
        char errstr[512];
        char buf[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *cluster;
        int i;

        /* The mock cluster needs a client handle to live in; this one sends nothing, so its
         * notice that it has no bootstrap servers is not worth printing. */
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-cluster: %s\n", errstr);
                return 1;
        }
        cluster = rd_kafka_mock_cluster_new(rk, 1);
        if (!cluster) {
                fprintf(stderr, "mock-cluster: could not create the cluster\n");
                return 1;
        }
        for (i = 1; i < argc; i++) {
                rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, argv[i], 1, 1);
                if (err) {
                        fprintf(stderr, "mock-cluster: topic %s: %s\n", argv[i], rd_kafka_err2str(err));
                        return 1;
                }
        }
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
        fflush(stdout);

        while (read(0, buf, sizeof(buf)) > 0)
                ;
        rd_kafka_mock_cluster_destroy(cluster);
        rd_kafka_destroy(rk);
        return 0;
}
