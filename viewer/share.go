package viewer

import (
	"context"
	"sync"

	"assist/screen"
)

// pageShare is a screen the page shares: the browser captures it
// (getDisplayMedia) and sends pictures; they feed a PictureSource that
// the session's share sends on, changed tiles only, like a captured X
// screen. The first picture starts the share; the page's "share_stop",
// its connection closing or the host ending it stops it.
type pageShare struct {
	sh    Sharer
	ended func(text string) // tells the page the share is over

	mu     sync.Mutex
	src    *screen.PictureSource
	cancel context.CancelFunc
}

// picture takes one picture from the page.
func (p *pageShare) picture(ctx context.Context, b []byte) error {
	img, err := screen.DecodePicture(b)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.src != nil {
		p.src.Put(img)
		return nil
	}
	src := &screen.PictureSource{}
	src.Put(img)
	sctx, cancel := context.WithCancel(ctx)
	p.src, p.cancel = src, cancel
	go func() {
		err := p.sh.ShareScreen(sctx, src)
		cancel()
		p.mu.Lock()
		if p.src == src {
			p.src, p.cancel = nil, nil
		}
		p.mu.Unlock()
		text := ""
		if err != nil {
			text = err.Error()
		}
		p.ended(text)
	}()
	return nil
}

// stop ends the page's share, if one runs.
func (p *pageShare) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		p.cancel()
	}
}
