namespace Streams.Actors.Domain;

/// <summary>An idempotent producer's last accepted (epoch, seq) on one stream.</summary>
public sealed record ProducerState(string ProducerId, long Epoch, long LastSeq);

/// <summary>The producer headers of one request.</summary>
public sealed record ProducerClaim(string ProducerId, long Epoch, long Seq);

/// <summary>The outcome of checking a producer claim against the stream's producer state.</summary>
public enum ProducerVerdict
{
    Accept,
    Duplicate,
    StaleEpoch,
    SeqGap,
    NewEpochSeqNotZero,
}

public static class ProducerRules
{
    /// <summary>Fences zombies by epoch and deduplicates retries by seq.</summary>
    public static ProducerVerdict Judge(ProducerState? state, ProducerClaim claim)
    {
        if (state is null)
        {
            return claim.Seq == 0 ? ProducerVerdict.Accept : ProducerVerdict.SeqGap;
        }

        if (claim.Epoch < state.Epoch)
        {
            return ProducerVerdict.StaleEpoch;
        }

        if (claim.Epoch > state.Epoch)
        {
            return claim.Seq == 0 ? ProducerVerdict.Accept : ProducerVerdict.NewEpochSeqNotZero;
        }

        if (claim.Seq <= state.LastSeq)
        {
            return ProducerVerdict.Duplicate;
        }

        return claim.Seq == state.LastSeq + 1 ? ProducerVerdict.Accept : ProducerVerdict.SeqGap;
    }

    /// <summary>The seq the producer must send next (0 for a producer never seen).</summary>
    public static long ExpectedSeq(ProducerState? state) => state is null ? 0 : state.LastSeq + 1;
}
