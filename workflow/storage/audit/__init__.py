"""Reading the record in bulk: verifying the chains (verify, in several processes: parallel), the state
tables against their replay (state, with a diagnosis of the first difference), and the export."""
