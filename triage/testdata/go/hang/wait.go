package wait

func Forever(ch chan struct{}) { <-ch }
