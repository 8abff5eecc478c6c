package samsa;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One long-lived member of a consumer group, for tests that change the cluster under it: it
 * prints a JSON line per event as it happens and runs until its standard input closes.
 *
 * <pre>
 * bootstrap topic group protocol   protocol: classic or consumer (KIP-848)
 * </pre>
 *
 * Events: {"event":"assigned","generation":G,"partitions":[...]} after each rebalance (G: the
 * generation, or the member epoch under the consumer protocol), {"event":"records","values":[...]}
 * for each poll that returned records (committed synchronously after), {"event":"commitFailed"}
 * when that commit failed, and {"event":"closed"} last.
 */
public final class GroupMember {
  private GroupMember() {}

  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("group.id", args[2]);
    p.put("group.protocol", args[3]);
    if (args[3].equals("classic")) p.put("session.timeout.ms", "10000");
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
    Thread stdin = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        while (in.readLine() != null) {
          // Only the end of input matters.
        }
      } catch (Exception ignored) {
        // The end of input, however it comes.
      }
      consumer.wakeup();
    });
    stdin.setDaemon(true);
    stdin.start();
    consumer.subscribe(List.of(args[1]), new ConsumerRebalanceListener() {
      @Override
      public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}

      @Override
      public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        List<String> ids = new ArrayList<>();
        for (TopicPartition tp : consumer.assignment()) ids.add(String.valueOf(tp.partition()));
        emit("{\"event\":\"assigned\",\"generation\":" + consumer.groupMetadata().generationId()
            + ",\"partitions\":[" + String.join(",", ids) + "]}");
      }
    });
    try {
      while (true) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
        if (records.isEmpty()) continue;
        List<String> values = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) values.add("\"" + r.value() + "\"");
        emit("{\"event\":\"records\",\"values\":[" + String.join(",", values) + "]}");
        try {
          consumer.commitSync();
        } catch (WakeupException e) {
          throw e;
        } catch (Exception e) {
          emit("{\"event\":\"commitFailed\",\"error\":\"" + e.getClass().getSimpleName() + "\"}");
        }
      }
    } catch (WakeupException e) {
      // Standard input closed: leave the group.
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
    emit("{\"event\":\"closed\"}");
  }

  private static synchronized void emit(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
