package samsa;

import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListStreamsGroupOffsetsSpec;
import org.apache.kafka.clients.admin.StreamsGroupDescription;
import org.apache.kafka.clients.admin.StreamsGroupMemberAssignment;
import org.apache.kafka.clients.admin.StreamsGroupMemberDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * A Kafka Streams word count (kafka-streams, KIP-1071 streams groups with group.protocol=streams)
 * as a real client of the tests. It counts the words of the lines of an input topic, keeping the
 * counts in a state store (a changelog topic) after a repartition by word, and writes each new
 * count to an output topic as a decimal string. It prints one JSON line per state change and
 * runs until its standard input closes (then closes cleanly) or the test kills the JVM.
 *
 * <pre>
 * run      bootstrap applicationId inputTopic outputTopic stateDir processingGuarantee
 * describe bootstrap applicationId      the Admin client's view of the group (StreamsGroupDescribe)
 *                                       and its committed offsets, as one JSON line
 * delete   bootstrap applicationId      the same view, then deletes the group (Admin.deleteStreamsGroups)
 * </pre>
 */
public final class StreamsWordCount {
  private StreamsWordCount() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "run" -> run(Arrays.copyOfRange(args, 1, args.length));
      case "describe" -> describe(args[1], args[2]);
      case "delete" -> delete(args[1], args[2]);
      default -> throw new IllegalArgumentException("unknown scenario " + args[0]);
    }
  }

  private static Admin admin(String bootstrap) {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
  }

  private static void describe(String bootstrap, String group) throws Exception {
    try (Admin admin = admin(bootstrap)) {
      print(view(admin, group) + "}");
    }
  }

  private static void delete(String bootstrap, String group) throws Exception {
    try (Admin admin = admin(bootstrap)) {
      String before = view(admin, group);
      admin.deleteStreamsGroups(List.of(group)).all().get();
      print(before + ",\"deleted\":true}");
    }
  }

  /** The group's description and committed offsets as a JSON object without its closing brace. */
  private static String view(Admin admin, String group) throws Exception {
    StreamsGroupDescription d = admin.describeStreamsGroups(List.of(group)).describedGroups().get(group).get();
    StringBuilder out = new StringBuilder("{\"state\":\"" + d.groupState() + "\",\"groupEpoch\":" + d.groupEpoch());
    out.append(",\"topologyEpoch\":").append(d.topologyEpoch()).append(",\"subtopologies\":").append(d.subtopologies().size());
    out.append(",\"members\":[");
    String sep = "";
    for (StreamsGroupMemberDescription m : d.members()) {
      out.append(sep).append("{\"processId\":").append(quote(m.processId())).append(",\"active\":[");
      String inner = "";
      for (StreamsGroupMemberAssignment.TaskIds t : m.assignment().activeTasks()) {
        for (int p : t.partitions()) {
          out.append(inner).append(quote(t.subtopologyId() + ":" + p));
          inner = ",";
        }
      }
      out.append("]}");
      sep = ",";
    }
    out.append("],\"offsets\":{");
    Map<TopicPartition, OffsetAndMetadata> offsets =
        admin.listStreamsGroupOffsets(Map.of(group, new ListStreamsGroupOffsetsSpec())).partitionsToOffsetAndMetadata(group).get();
    sep = "";
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
      if (e.getValue() == null) continue;
      out.append(sep).append(quote(e.getKey().toString())).append(":").append(e.getValue().offset());
      sep = ",";
    }
    return out.append("}").toString();
  }

  private static void run(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[5]);
    props.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, "streams");
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    // A killed instance's open transaction blocks read_committed readers until it times out.
    props.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 5000);

    StreamsBuilder builder = new StreamsBuilder();
    builder.<String, String>stream(args[2])
        .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((key, word) -> !word.isEmpty())
        .groupBy((key, word) -> word)
        .count(Materialized.as("counts"))
        .toStream()
        .mapValues(count -> Long.toString(count))
        .to(args[3], Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    streams.setStateListener((now, before) -> print("{\"event\":\"state\",\"state\":\"" + now + "\"}"));
    streams.setUncaughtExceptionHandler(err -> {
      print("{\"event\":\"error\",\"message\":" + quote(String.valueOf(err)) + "}");
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.start();
    InputStream in = System.in;
    while (in.read() != -1) {
      // Runs until the test closes standard input.
    }
    streams.close(Duration.ofSeconds(30));
    print("{\"event\":\"closed\"}");
  }

  private static synchronized void print(String json) {
    System.out.println(json);
    System.out.flush();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }
}
