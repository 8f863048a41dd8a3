package counter

import (
	"sync"
	"testing"
)

func TestConcurrentInc(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Inc()
		}()
	}
	wg.Wait()
	if c.Get() != 2 {
		t.Errorf("Get = %d", c.Get())
	}
}

func TestOther(t *testing.T) {}
