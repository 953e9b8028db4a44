package rep

import (
	"fmt"
	"testing"
)

// TestTheInvitationStateMachine: each change from each state, for each
// kind; a final state never changes again.
func TestTheInvitationStateMachine(t *testing.T) {
	type step struct {
		c    Change
		by   string
		want State // "" : the change does not apply
	}
	cases := []struct {
		kind  Kind
		uses  int
		steps []step
	}{
		{KindRep, 0, []step{{ChangeOpened, "", ""}, {ChangeAccepted, "Bob", ""}, {ChangeAlerted, "", StateAlerted},
			{ChangeAlerted, "", ""}, {ChangeAccepted, "Bob", StateAccepted}, {ChangeExpired, "", ""}, {ChangeDeclined, "Bob", ""}}},
		{KindRep, 0, []step{{ChangeAlerted, "", StateAlerted}, {ChangeDeclined, "Bob", StateDeclined}, {ChangeAccepted, "Bob", ""}}},
		{KindPortal, 0, []step{{ChangeAlerted, "", StateAlerted}, {ChangeDeclined, "Bob", StateAlerted},
			{ChangeDeclined, "Carol", StateAlerted}, {ChangeAccepted, "Dan", StateAccepted}, {ChangeWithdrawn, "", ""}}},
		{KindPortal, 0, []step{{ChangeAlerted, "", StateAlerted}, {ChangeExpired, "", StateExpired}, {ChangeAccepted, "Bob", ""}}},
		{KindRep, 0, []step{{ChangeAlerted, "", StateAlerted}, {ChangeEnded, "", StateWithdrawn}, {ChangeExpired, "", ""}}},
		{KindRep, 0, []step{{ChangeCancelled, "", StateCancelled}, {ChangeAlerted, "", ""}}}, // the alert never went out
		{KindCode, 2, []step{{ChangeAlerted, "", ""}, {ChangeOpened, "", StateOpen}, {ChangeAccepted, "Sam", ""},
			{ChangeRefused, "Sam", StateOpen}, {ChangeJoined, "Sam", StateOpen}, {ChangeJoined, "Ann", StateUsed},
			{ChangeJoined, "Bo", ""}, {ChangeCancelled, "", ""}}},
		{KindCode, 1, []step{{ChangeOpened, "", StateOpen}, {ChangeExpired, "", ""}, {ChangeWithdrawn, "", ""},
			{ChangeBurned, "", StateBurned}, {ChangeJoined, "Sam", ""}}},
		{KindCode, 1, []step{{ChangeOpened, "", StateOpen}, {ChangeEnded, "", StateEnded}, {ChangeOpened, "", ""}}},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i, tc.kind), func(t *testing.T) {
			inv := Invitation{Kind: tc.kind, State: StateCreated, MaxUses: tc.uses}
			for _, st := range tc.steps {
				before := inv.State
				applied := inv.transition(st.c, st.by)
				switch {
				case st.want == "" && (applied || inv.State != before):
					t.Fatalf("%s in %s applied (now %s)", st.c, before, inv.State)
				case st.want != "" && (!applied || inv.State != st.want):
					t.Fatalf("%s in %s: %s (applied %v), want %s", st.c, before, inv.State, applied, st.want)
				}
			}
		})
	}
}

// TestEachChangeIsOneUpdateAndAFinalAnswerHappensOnce: the book publishes
// one update per change that applies, and a final state's consequences
// run once however many answers race.
func TestEachChangeIsOneUpdateAndAFinalAnswerHappensOnce(t *testing.T) {
	finals := 0
	b := newBook(func(Invitation) error { finals++; return nil })
	var seen []Change
	b.notify = func(u Update) { seen = append(seen, u.Change) }
	b.add(Invitation{ID: "a", Kind: KindRep})
	for _, c := range []Change{ChangeAlerted, ChangeAccepted, ChangeExpired, ChangeWithdrawn, ChangeAccepted} {
		b.apply("a", c, "Bob")
	}
	if _, ok, _ := b.apply("nope", ChangeAccepted, "Bob"); ok {
		t.Fatal("an unknown invitation changed")
	}
	if fmt.Sprint(seen) != "[alerted accepted]" || finals != 1 {
		t.Fatalf("updates %v, %d final consequences", seen, finals)
	}
	if inv, _ := b.get("a"); inv.State != StateAccepted || inv.By != "Bob" {
		t.Fatalf("%+v", inv)
	}
	b.prune()
	if len(b.list()) != 0 {
		t.Fatal("an answered invitation outlived prune")
	}
}
