// Memory per entry of Go's sync.Map, the counterpart of benches/benches/memory.rs:
// 1,000,000 uint64 -> uint64 entries stored with Store, heap bytes (HeapAlloc after a GC)
// per entry. Keys and values are boxed in `any`, as sync.Map stores them.
//
// Run by `cargo xtask bench` with each Go toolchain it finds: `go run benches/go/memory/main.go`.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

const entries = 1000000

func heap() uint64 {
	var s runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&s)
	return s.HeapAlloc
}

func main() {
	before := heap()
	var m sync.Map
	for i := uint64(0); i < entries; i++ {
		m.Store(i, i)
	}
	perEntry := func() float64 { return float64(heap()-before) / entries }
	fmt.Printf("after inserts\t%.1f\n", perEntry())
	// One load of every key: in Go 1.19's design, enough misses to promote dirty to read.
	for i := uint64(0); i < entries; i++ {
		m.Load(i)
	}
	fmt.Printf("after promotion\t%.1f\n", perEntry())
	// One new key: Go 1.19 rebuilds dirty from read.
	m.Store(uint64(entries), uint64(0))
	fmt.Printf("dirty rebuilt\t%.1f\n", perEntry())
	runtime.KeepAlive(&m)
}
