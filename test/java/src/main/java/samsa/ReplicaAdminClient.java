package samsa;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.TopicPartitionReplica;

/**
 * Replica and quorum administration through Apache Kafka's Java admin client, for the samsa
 * tests, on a topic of three partitions: a preferred election of partition 0, a reassignment of
 * partition 1 to [3, 2] and the leader describeTopics then shows, a cancellation of partition 2,
 * the reassignments in progress, partition 0's log dir moved on broker 1 to LOG_DIR and on broker 2
 * to a path that is none, the metadata quorum, and an unknown broker unregistered. Prints what
 * each call answered (an exception's simple class name, or "none") as one JSON line.
 *
 * Usage: ReplicaAdminClient BOOTSTRAP TOPIC LOG_DIR
 */
public final class ReplicaAdminClient {
  private ReplicaAdminClient() {}

  public static void main(String[] args) throws Exception {
    String topic = args[1];
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("client.id", "samsa-java-replica-admin");
    try (Admin admin = Admin.create(props)) {
      TopicPartition p0 = new TopicPartition(topic, 0);
      Optional<Throwable> elected = admin.electLeaders(ElectionType.PREFERRED, Set.of(p0)).partitions().get().get(p0);
      String reassigned = outcome(admin.alterPartitionReassignments(
          Map.of(new TopicPartition(topic, 1), Optional.of(new NewPartitionReassignment(List.of(3, 2))))).all());
      TopicPartitionInfo p1 = describe(admin, topic).partitions().get(1);
      String cancelled = outcome(admin.alterPartitionReassignments(
          Map.of(new TopicPartition(topic, 2), Optional.empty())).all());
      int ongoing = admin.listPartitionReassignments().reassignments().get().size();
      Map<TopicPartitionReplica, KafkaFuture<Void>> dirs = admin.alterReplicaLogDirs(Map.of(
          new TopicPartitionReplica(topic, 0, 1), args[2],
          new TopicPartitionReplica(topic, 0, 2), "/no/such/dir")).values();
      QuorumInfo quorum = admin.describeMetadataQuorum().quorumInfo().get();
      String unregistered = outcome(admin.unregisterBroker(42).all());
      System.out.println("{\"elected\":\"" + elected.map(e -> e.getClass().getSimpleName()).orElse("none")
          + "\",\"reassigned\":\"" + reassigned + "\",\"leader\":" + p1.leader().id()
          + ",\"replicas\":" + p1.replicas().stream().map(n -> String.valueOf(n.id())).collect(Collectors.joining(",", "[", "]"))
          + ",\"cancelled\":\"" + cancelled + "\",\"ongoing\":" + ongoing
          + ",\"logDirOnBroker1\":\"" + outcome(dirs.get(new TopicPartitionReplica(topic, 0, 1)))
          + "\",\"logDirOnBroker2\":\"" + outcome(dirs.get(new TopicPartitionReplica(topic, 0, 2)))
          + "\",\"quorumLeader\":" + quorum.leaderId() + ",\"quorumEpoch\":" + quorum.leaderEpoch()
          + ",\"highWatermark\":" + quorum.highWatermark()
          + ",\"voters\":" + ids(quorum.voters()) + ",\"observers\":" + ids(quorum.observers())
          + ",\"unregistered\":\"" + unregistered + "\"}");
    }
  }

  private static TopicDescription describe(Admin admin, String topic) throws Exception {
    return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
  }

  private static String ids(List<QuorumInfo.ReplicaState> replicas) {
    return replicas.stream().map(r -> String.valueOf(r.replicaId())).sorted().collect(Collectors.joining(",", "[", "]"));
  }

  /** "none" when the call succeeded, else the simple class name of the exception it failed with. */
  private static String outcome(KafkaFuture<Void> future) throws InterruptedException {
    try {
      future.get();
      return "none";
    } catch (ExecutionException e) {
      return e.getCause().getClass().getSimpleName();
    }
  }
}
