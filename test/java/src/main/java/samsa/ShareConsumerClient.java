package samsa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Apache Kafka's share consumer (KafkaShareConsumer, KIP-932) as a real client of the tests, one
 * scenario per JVM; the last line printed is JSON with what the consumers received.
 *
 * <pre>
 * split   bootstrap topic group consumers expected timeoutMs   N consumers in threads, implicit
 *         acknowledgement, until together they received `expected` records
 * hold    bootstrap topic group count                          explicit mode: receives `count` records,
 *         prints them, then never acknowledges (the test kills the JVM)
 * ack     bootstrap topic group count                          explicit mode: ACCEPT, or REJECT for
 *         values starting with "bad", until `count` records; commitSync, close
 * release bootstrap topic group expected limit                 explicit mode: RELEASE everything until
 *         each of `expected` values came `limit` times, then polls one more second
 * </pre>
 */
public final class ShareConsumerClient {
  private ShareConsumerClient() {}

  public static void main(String[] args) throws Exception {
    String scenario = args[0];
    switch (scenario) {
      case "split" -> split(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]), Long.parseLong(args[6]));
      case "hold" -> hold(args[1], args[2], args[3], Integer.parseInt(args[4]));
      case "ack" -> ack(args[1], args[2], args[3], Integer.parseInt(args[4]));
      case "release" -> release(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]));
      default -> throw new IllegalArgumentException("unknown scenario " + scenario);
    }
  }

  private static KafkaShareConsumer<String, String> consumer(String bootstrap, String group, String mode) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("share.acknowledgement.mode", mode);
    p.put("max.poll.records", "10");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    return new KafkaShareConsumer<>(p);
  }

  /** One received record as JSON: value and delivery count. */
  private static String json(ConsumerRecord<String, String> r) {
    return "{\"value\":\"" + r.value() + "\",\"offset\":" + r.offset() + ",\"deliveryCount\":"
        + r.deliveryCount().map(String::valueOf).orElse("null") + "}";
  }

  private static String array(List<String> items) {
    return "[" + String.join(",", items) + "]";
  }

  private static void split(String bootstrap, String topic, String group, int consumers, int expected, long timeoutMs)
      throws InterruptedException {
    AtomicInteger total = new AtomicInteger();
    long deadline = System.currentTimeMillis() + timeoutMs;
    List<List<String>> received = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < consumers; i++) {
      List<String> mine = new ArrayList<>();
      received.add(mine);
      Thread t = new Thread(() -> {
        try (KafkaShareConsumer<String, String> c = consumer(bootstrap, group, "implicit")) {
          c.subscribe(List.of(topic));
          while (total.get() < expected && System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
              synchronized (mine) {
                mine.add(json(r));
              }
              total.incrementAndGet();
            }
          }
          c.commitSync();
        }
      });
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) t.join();
    List<String> out = new ArrayList<>();
    for (List<String> mine : received) out.add(array(mine));
    System.out.println("{\"consumers\":" + array(out) + "}");
  }

  private static void hold(String bootstrap, String topic, String group, int count) throws InterruptedException {
    KafkaShareConsumer<String, String> c = consumer(bootstrap, group, "explicit");
    c.subscribe(List.of(topic));
    List<String> got = new ArrayList<>();
    while (got.size() < count) {
      for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) got.add(json(r));
    }
    System.out.println("{\"records\":" + array(got) + "}");
    System.out.flush();
    // Holds the records without acknowledging them until the test kills this JVM.
    Thread.sleep(Long.MAX_VALUE);
  }

  private static void ack(String bootstrap, String topic, String group, int count) {
    List<String> accepted = new ArrayList<>();
    List<String> rejected = new ArrayList<>();
    try (KafkaShareConsumer<String, String> c = consumer(bootstrap, group, "explicit")) {
      c.subscribe(List.of(topic));
      while (accepted.size() + rejected.size() < count) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          boolean bad = r.value().startsWith("bad");
          c.acknowledge(r, bad ? AcknowledgeType.REJECT : AcknowledgeType.ACCEPT);
          (bad ? rejected : accepted).add(json(r));
        }
        c.commitSync();
      }
    }
    System.out.println("{\"accepted\":" + array(accepted) + ",\"rejected\":" + array(rejected) + "}");
  }

  private static void release(String bootstrap, String topic, String group, int expected, int limit) {
    List<String> got = new ArrayList<>();
    java.util.Map<String, Integer> seen = new java.util.HashMap<>();
    try (KafkaShareConsumer<String, String> c = consumer(bootstrap, group, "explicit")) {
      c.subscribe(List.of(topic));
      long quietUntil = Long.MAX_VALUE;
      while (System.currentTimeMillis() < quietUntil) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          c.acknowledge(r, AcknowledgeType.RELEASE);
          got.add(json(r));
          seen.merge(r.value(), 1, Integer::sum);
        }
        c.commitSync();
        boolean done = seen.size() == expected && seen.values().stream().allMatch(n -> n >= limit);
        if (done && quietUntil == Long.MAX_VALUE) quietUntil = System.currentTimeMillis() + 1000;
      }
    }
    System.out.println("{\"records\":" + array(got) + "}");
  }
}
